from caremesh_insurance.app import SERVICE, build
from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit.runtime import main as run


def main() -> None:
    settings = InsuranceSettings()
    run(SERVICE, settings, build)


if __name__ == "__main__":
    main()
