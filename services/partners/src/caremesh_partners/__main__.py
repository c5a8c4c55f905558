"""The gateway's process: ``caremesh-partners``."""

from caremesh_kit.runtime import main as run
from caremesh_partners.app import SERVICE, build
from caremesh_partners.settings import PartnersSettings


def main() -> None:
    run(SERVICE, PartnersSettings, build)


if __name__ == "__main__":
    main()
