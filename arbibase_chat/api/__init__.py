"""The REST API (`/api`): thin FastAPI routes over the same services as the UI.

`api_app` is mounted by `rx.App(api_transformer=api_app)`; tests build their own with
`create_api(engine=...)` bound to a test database.
"""

from arbibase_chat.api.app import create_api

api_app = create_api()

__all__ = ["api_app", "create_api"]
