"""The service's processes: ``caremesh-notifications`` (the service) and ``caremesh-templates``."""

from caremesh_kit.runtime import main as run
from caremesh_notifications.api import cli
from caremesh_notifications.app import SERVICE, build, template_release
from caremesh_notifications.settings import NotificationsSettings


def main() -> None:
    settings = NotificationsSettings()
    run(SERVICE, settings, build)


def templates(argv: list[str] | None = None) -> int:
    """Check the template files, or record new versions in their lock; the exit status."""
    return cli.main(argv, template_release)


if __name__ == "__main__":
    main()
