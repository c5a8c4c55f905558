from caremesh_insurance.app import SERVICE, build
from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit.runtime import main as run


def main() -> None:
    run(SERVICE, InsuranceSettings(), build)


if __name__ == "__main__":
    main()
