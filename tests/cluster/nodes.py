"""The cluster helper moved to bench/cluster.py (benchmarks use it too); these names stay for the tests."""

from bench.cluster import ROOT, Cluster, Node

__all__ = ["ROOT", "Cluster", "Node"]
