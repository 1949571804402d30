"""`python -m services.resolution`: run the resolution service alone."""

from services.resolution.bootstrap import bootstrap
from services.resolution.settings import ResolutionSettings
from shared.runtime import serve


def main() -> None:
    """Start the HTTP server and consumers of the resolution service."""
    settings = ResolutionSettings()
    serve(bootstrap(settings), host=settings.http_host, port=settings.port)


if __name__ == "__main__":
    main()
