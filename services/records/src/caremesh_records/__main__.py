from caremesh_kit.runtime import main as run
from caremesh_records.app import SERVICE, build
from caremesh_records.settings import RecordsSettings


def main() -> None:
    run(SERVICE, RecordsSettings(), build)


if __name__ == "__main__":
    main()
