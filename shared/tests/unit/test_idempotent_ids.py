"""Ids minted under an Idempotency-Key: the same on a rerun, distinct across keys, random outside."""

from caremesh_kit import context


def minted(seed: str, n: int, rerun: bool = False) -> list[str]:
    with context.idempotent(seed, rerun=rerun):
        return [context.new_id() for _ in range(n)]


def test_a_rerun_mints_the_same_ids_in_the_same_order():
    assert minted("seed-a", 3) == minted("seed-a", 3, rerun=True)
    assert len(set(minted("seed-a", 3))) == 3
    assert not set(minted("seed-a", 3)) & set(minted("seed-b", 3))


def test_only_what_the_request_minted_counts_as_its_own():
    with context.idempotent("seed", rerun=True):
        mine = context.new_id()
        assert context.minted_here(mine) and context.rerun()
        assert not context.minted_here(context.random_id())
    assert not context.minted_here(mine) and not context.rerun()
    assert context.new_id() != context.new_id()  # outside a request under a key: random
