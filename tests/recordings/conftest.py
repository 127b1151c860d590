"""Recording fixtures: the meeting tests' clients and browser."""

from tests.meetings.browser import chromium, meeting_bundle  # noqa: F401 - fixtures
from tests.meetings.conftest import meeting_clients  # noqa: F401 - a fixture
