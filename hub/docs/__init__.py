"""Shared documents: Yjs documents (pycrdt) synced over the y-websocket protocol and stored durably."""
