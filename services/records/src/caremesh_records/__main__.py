from caremesh_kit.runtime import main as run
from caremesh_records.app import SERVICE, build
from caremesh_records.settings import RecordsSettings


def main() -> None:
    settings = RecordsSettings()
    run(SERVICE, settings, lambda _: build(settings))  # the kit passes back these same settings


if __name__ == "__main__":
    main()
