"""`python -m services.routing`: run the routing service alone."""

from services.routing.bootstrap import bootstrap
from services.routing.settings import RoutingSettings
from shared.runtime import serve


def main() -> None:
    """Start the HTTP server and consumers of the routing service."""
    settings = RoutingSettings()
    serve(bootstrap(settings), host=settings.http_host, port=settings.port)


if __name__ == "__main__":
    main()
