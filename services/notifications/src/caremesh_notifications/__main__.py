from caremesh_kit.runtime import main as run
from caremesh_notifications.app import SERVICE, build
from caremesh_notifications.settings import NotificationsSettings


def main() -> None:
    run(SERVICE, NotificationsSettings(), build)


if __name__ == "__main__":
    main()
