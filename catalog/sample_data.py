"""A small built-in sample in the layout of the four demo datasets, for machines without SHOP_DATA_DIR.

The rows are generated from a few word lists (deterministic, seeded), so the demo and the
presets work anywhere: about 400 products in a 3-level tree, baskets and shopper histories.
"""

import csv
import gzip
import json
import random
from pathlib import Path

BRANDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli"]
COLOURS = ["Black", "White", "Navy Blue", "Red", "Green", "Grey", "Beige", "Pink"]
TREE = {
    ("Clothing", "Men's Clothing", "Shirts"): ["Cotton Shirt", "Linen Shirt", "Checked Casual Shirt", "Formal Shirt"],
    ("Clothing", "Men's Clothing", "Jeans"): ["Slim Fit Jeans", "Regular Fit Jeans", "Stretch Denim Jeans"],
    ("Clothing", "Women's Clothing", "Dresses"): ["Maxi Dress", "A-line Dress", "Wrap Dress", "Shift Dress"],
    ("Clothing", "Women's Clothing", "Tops"): ["Crop Top", "Printed Top", "Sleeveless Top"],
    ("Footwear", "Men's Footwear", "Sports Shoes"): ["Running Shoes", "Training Shoes", "Walking Shoes"],
    ("Footwear", "Women's Footwear", "Sandals"): ["Flat Sandals", "Heeled Sandals", "Sports Sandals"],
    ("Mobiles & Accessories", "Mobile Accessories", "Cases & Covers"): ["Back Cover", "Flip Cover", "Bumper Case"],
    ("Mobiles & Accessories", "Mobile Accessories", "Chargers"): ["Wall Charger", "Car Charger", "Wireless Charger"],
    ("Home Decor & Festive Needs", "Showpieces", "Figurines"): ["Brass Figurine", "Ceramic Figurine"],
    ("Kitchen & Dining", "Cookware", "Pans"): ["Non-stick Fry Pan", "Cast Iron Skillet", "Grill Pan"],
}
FASHION = {
    ("Apparel", "Topwear", "Tshirts"): "Tshirt",
    ("Apparel", "Topwear", "Shirts"): "Shirt",
    ("Apparel", "Bottomwear", "Jeans"): "Jeans",
    ("Footwear", "Shoes", "Casual Shoes"): "Casual Shoes",
    ("Accessories", "Watches", "Watches"): "Watch",
    ("Accessories", "Bags", "Handbags"): "Handbag",
}
BEAUTY = ["Moisturising Cream", "Argan Hair Oil", "Matte Lipstick", "Nail Polish", "Face Wash", "Sunscreen SPF 50",
          "Eye Liner", "Shampoo", "Conditioner", "Body Lotion", "Perfume", "Face Serum", "Lip Balm",
          "Hair Mask"]  # fmt: skip
GROCERIES = ["whole milk", "rolls/buns", "yogurt", "soda", "bottled water", "tropical fruit", "root vegetables",
             "citrus fruit", "sausage", "pastry", "coffee", "butter", "domestic eggs", "brown bread"]  # fmt: skip


def write_sample_dataset(folder: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    _flipkart(folder / "flipkart_ecommerce_sample", rng)
    _fashion(folder / "fashion_product_styles", rng)
    _beauty(folder / "amazon_beauty_5core", rng)
    _groceries(folder / "groceries_basket", rng)
    return folder


def _flipkart(folder: Path, rng: random.Random) -> None:
    folder.mkdir(exist_ok=True)
    header = ["uniq_id", "product_name", "product_category_tree", "pid", "retail_price", "discounted_price",
              "is_FK_Advantage_product", "product_rating", "overall_rating", "brand"]  # fmt: skip
    with open(folder / "flipkart_20k_joined.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        n = 0
        for path, kinds in TREE.items():
            for kind in kinds:
                for _ in range(6):
                    n += 1
                    brand, colour = rng.choice(BRANDS), rng.choice(COLOURS)
                    title = f"{brand} {colour} {kind}"
                    tree = json.dumps([" >> ".join([*path, f"{brand} {path[-1]}", title])])
                    price = rng.randrange(199, 4999)
                    writer.writerow([f"sample-fk-{n:04d}", title, tree, f"PID{n:05d}", price,
                                     int(price * rng.uniform(0.5, 0.95)), "FALSE", "No rating available",
                                     "No rating available", brand])  # fmt: skip


def _fashion(folder: Path, rng: random.Random) -> None:
    folder.mkdir(exist_ok=True)
    with open(folder / "styles_joined.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season",
                         "year", "usage", "productDisplayName"])  # fmt: skip
        for n in range(120):
            path, noun = rng.choice(list(FASHION.items()))
            gender, colour = rng.choice(["Men", "Women"]), rng.choice(COLOURS)
            writer.writerow([50000 + n, gender, *path, colour, rng.choice(["Summer", "Winter", "Fall"]),
                             rng.choice([2011, 2012, 2016]), "Casual",
                             f"{rng.choice(BRANDS)} {gender} {colour} {noun}"])  # fmt: skip


def _beauty(folder: Path, rng: random.Random) -> None:
    folder.mkdir(exist_ok=True)
    items = [(f"SAMPLEB{n:03d}", f"{rng.choice(BRANDS)} {name}") for n, name in enumerate(BEAUTY * 3)]
    with open(folder / "beauty_items.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["asin", "title"])
        writer.writerows(items)
    with gzip.open(folder / "beauty_interactions.csv.gz", "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "asin", "timestamp", "seq_pos"])
        for user in range(150):
            start = 1_400_000_000 + rng.randrange(10**7)
            history = rng.sample(items, rng.randrange(5, 12))
            for pos, (asin, _) in enumerate(history):
                writer.writerow([f"SAMPLEU{user:04d}", asin, start + pos * 86400, pos])


def _groceries(folder: Path, rng: random.Random) -> None:
    folder.mkdir(exist_ok=True)
    with open(folder / "Groceries_dataset_noheader.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        for member in range(200):
            for day in rng.sample(range(1, 28), 3):
                for item in rng.sample(GROCERIES, rng.randrange(2, 6)):
                    writer.writerow([1000 + member, f"{day:02d}-03-2015", item])
