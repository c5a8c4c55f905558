from caremesh_kit.runtime import main as run
from caremesh_scheduling.app import SERVICE, build
from caremesh_scheduling.settings import SchedulingSettings


def main() -> None:
    settings = SchedulingSettings()
    run(SERVICE, settings, build)


if __name__ == "__main__":
    main()
