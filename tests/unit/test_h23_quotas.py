"""The first places of "Recommended for you" are shared among the departments the visitor browses, in
proportion to their recent share (recommend/sequential/intent.py `ranked`)."""

from recommend.sequential import intent

BEAUTY, APPAREL = 1, 2


def facts(department):
    return intent.ItemFacts(category_id=department * 10, category_name="", department_id=department, department_name="")


def test_quotas_follow_the_shares_with_largest_remainder():
    assert intent.department_quotas({BEAUTY: 0.45, APPAREL: 0.55}, 10) == {BEAUTY: 4, APPAREL: 6}
    assert intent.department_quotas({BEAUTY: 0.5, APPAREL: 0.5}, 8) == {BEAUTY: 4, APPAREL: 4}
    assert sum(intent.department_quotas({1: 0.2, 2: 0.3, 3: 0.5}, 7).values()) == 7


def test_a_newly_browsed_department_gets_its_share_of_the_first_places_even_with_lower_scores():
    # Beauty products the model knows score 5-6; the shirts' content neighbours only 3-4.
    scores = {pk: intent.Scored(pk, 6.0 - pk / 100, 6.0, "model") for pk in range(1, 11)}
    scores |= {pk: intent.Scored(pk, 4.0 - pk / 1000, 4.0, "content") for pk in range(101, 111)}
    item_facts = {pk: facts(BEAUTY) for pk in range(1, 11)} | {pk: facts(APPAREL) for pk in range(101, 111)}
    shares = intent.Affinity(departments={BEAUTY: 0.45, APPAREL: 0.55})

    order = [item.product_id for item in intent.ranked(scores, shares, item_facts, slots=10)]

    head = order[:10]
    assert sum(pk > 100 for pk in head) == 6 and sum(pk <= 10 for pk in head) == 4
    assert head[:2] in ([101, 1], [1, 101])  # interleaved, not one department after the other
    assert order[10:] == [5, 6, 7, 8, 9, 10, 107, 108, 109, 110]  # the rest by score
    assert [item.product_id for item in intent.ranked(scores)][:10] == list(range(1, 11))  # no affinity: score order


def test_one_department_keeps_plain_score_order():
    scores = {pk: intent.Scored(pk, float(pk), float(pk), "model") for pk in range(1, 6)}
    shares = intent.Affinity(departments={BEAUTY: 1.0})
    assert [i.product_id for i in intent.ranked(scores, shares, {pk: facts(BEAUTY) for pk in scores})] == [
        5,
        4,
        3,
        2,
        1,
    ]
