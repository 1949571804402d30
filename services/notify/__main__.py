"""`python -m services.notify`: run the notify service alone."""

from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from shared.runtime import serve


def main() -> None:
    """Start the HTTP server and consumers of the notify service."""
    settings = NotifySettings()
    serve(bootstrap(settings), host=settings.http_host, port=settings.port)


if __name__ == "__main__":
    main()
