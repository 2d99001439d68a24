"""mujun_client — call a mujun server from Python (sync or asyncio).

    >>> from mujun_client import Client, score_remote
    >>> with Client("127.0.0.1:50051", token="mj_…") as client:          # doctest: +SKIP
    ...     table, summary = client.evaluate_batch(frame, "js-huaian-2024")

Every call has a deadline and retries with exponential backoff while the server is UNAVAILABLE;
failures raise :class:`RemoteError` with the status code and the server's field violations.
On the server's machine, :func:`find_token` reads the admin token from the data directory.
"""

from mujun_client._async import AsyncClient
from mujun_client._client import Client, score_remote
from mujun_client._errors import RemoteError
from mujun_client._token import find_token

__all__ = ["AsyncClient", "Client", "RemoteError", "find_token", "score_remote"]
