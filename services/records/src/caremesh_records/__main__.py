from caremesh_kit.runtime import main as run
from caremesh_records.app import SERVICE, build
from caremesh_records.settings import RecordsSettings


def main() -> None:
    settings = RecordsSettings()
    run(SERVICE, settings, build)


if __name__ == "__main__":
    main()
