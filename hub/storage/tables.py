"""Imports every domain's table module, so the metadata (and Alembic's autogenerate) sees the whole schema."""

from hub.auth import store as _auth_store  # noqa: F401
from hub.calls import store as _calls_store  # noqa: F401
from hub.directory import store as _directory_store  # noqa: F401
from hub.docs import tables as _docs_tables  # noqa: F401
from hub.meetings import store as _meetings_store  # noqa: F401
from hub.notifications import tables as _notification_tables  # noqa: F401
from hub.recordings import store as _recordings_store  # noqa: F401
from hub.supervision import tables as _supervision_tables  # noqa: F401
