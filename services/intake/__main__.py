"""`python -m services.intake`: run the intake service alone."""

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.runtime import serve


def main() -> None:
    """Start the HTTP server and consumers of the intake service."""
    settings = IntakeSettings()
    serve(bootstrap(settings), host=settings.http_host, port=settings.port)


if __name__ == "__main__":
    main()
