"""The demo catalogue `manage.py seed_demo` builds: a category tree and deterministic products.

Product N always gets the same SKU, id, name and price, so re-running the seed adds only what is
missing and the stock it receives is keyed by stable ids.
"""

import random
import uuid
from decimal import Decimal

from django.utils.text import slugify

from apps.products import selectors, services
from apps.products.models import Category, Product

SKU_PREFIX = "DEMO-"
ID_NAMESPACE = uuid.UUID("5b0e3c1e-6f7d-4c59-9d44-2f1b7f0f6a10")

# Category tree: a dict is a branch; a leaf holds (product nouns, price range in whole units).
TREE = {
    "Electronics": {
        "Computers": {
            "Laptops": (("Laptop", "Ultrabook", "Chromebook", "Workstation"), (399, 2999)),
            "Monitors": (("Monitor", "Curved Display", "Portable Screen"), (129, 1199)),
            "Accessories": (("Keyboard", "Mouse", "USB-C Hub", "Webcam", "Laptop Stand"), (15, 199)),
        },
        "Phones": (("Smartphone", "Phone Case", "Wireless Charger", "Screen Protector"), (9, 1299)),
        "Audio": (("Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar", "Turntable"), (19, 899)),
        "Cameras": (("Mirrorless Camera", "Action Camera", "Camera Lens", "Tripod"), (49, 2499)),
    },
    "Home & Kitchen": {
        "Cookware": (("Frying Pan", "Dutch Oven", "Saucepan", "Knife Set", "Cutting Board"), (12, 349)),
        "Small Appliances": (("Coffee Grinder", "Espresso Machine", "Kettle", "Blender", "Toaster"),
                             (19, 799)),
        "Furniture": (("Desk Chair", "Bookshelf", "Side Table", "Standing Desk", "Sofa"), (49, 1899)),
        "Lighting": (("Desk Lamp", "Floor Lamp", "Pendant Light", "LED Strip"), (14, 399)),
    },
    "Fashion": {
        "Men": (("Oxford Shirt", "Chinos", "Wool Sweater", "Rain Jacket", "Leather Belt"), (19, 299)),
        "Women": (("Linen Dress", "Cardigan", "Trench Coat", "Silk Scarf", "Jeans"), (19, 349)),
        "Shoes": (("Running Shoes", "Leather Boots", "Sneakers", "Sandals"), (29, 259)),
    },
    "Sports & Outdoors": {
        "Camping": (("Tent", "Sleeping Bag", "Camping Stove", "Headlamp", "Backpack"), (15, 599)),
        "Fitness": (("Yoga Mat", "Kettlebell", "Dumbbell Set", "Resistance Bands", "Foam Roller"), (9, 399)),
        "Cycling": (("Bike Helmet", "Bike Light", "Cycling Jersey", "Bike Lock", "Saddle Bag"), (12, 249)),
    },
    "Books": {
        "Fiction": (("Novel", "Short Story Collection", "Graphic Novel"), (8, 39)),
        "Cooking": (("Cookbook", "Baking Guide", "Fermentation Handbook"), (12, 49)),
        "Science": (("Field Guide", "Astronomy Atlas", "Popular Science Book"), (10, 59)),
    },
}

BRANDS = ("Northwind", "Acme", "Lumen", "Harbor & Pine", "Vertex", "Kestrel", "Oakline", "Nimbus",
          "Solstice", "Fjord", "Copperleaf", "Bluebird", "Ironwood", "Meridian", "Atlas")
QUALITIES = ("Classic", "Pro", "Compact", "Everyday", "Premium", "Essential", "Ultra", "Eco", "Travel",
             "Studio", "Heritage", "Lite", "Max", "Signature")
COLOURS = ("Black", "White", "Slate", "Forest Green", "Navy", "Sand", "Red", "Graphite", "Oat", "Teal")
PRAISE = ("Built to last", "Loved by reviewers", "Designed for everyday use", "A customer favourite",
          "Thoughtfully made", "Easy to care for")


def sku(number: int) -> str:
    return f"{SKU_PREFIX}{number:07d}"


def product_id(number: int) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, sku(number))


def ensure_categories() -> list[tuple[Category, tuple]]:
    """Create the tree where missing; return each leaf with its (nouns, price range)."""
    leaves = []

    def walk(branch: dict, parent: Category | None):
        for name, node in branch.items():
            slug = slugify(name)
            category = selectors.category_by_slug(slug) or services.create_category(
                name=name, slug=slug, parent=parent)
            if isinstance(node, dict):
                walk(node, category)
            else:
                leaves.append((category, node))

    walk(TREE, None)
    return leaves


def demo_product(number: int, leaves: list[tuple[Category, tuple]]) -> Product:
    rng = random.Random(number)  # noqa: S311 (reproducible demo data, not secrets)
    category, (nouns, (low, high)) = leaves[number % len(leaves)]
    noun, brand, quality, colour = (rng.choice(nouns), rng.choice(BRANDS), rng.choice(QUALITIES),
                                    rng.choice(COLOURS))
    # Prices cluster at the low end of the range, as real catalogues do, and end in .99 or .49.
    whole = int(low + (high - low) * rng.random() ** 2)
    return Product(
        id=product_id(number), sku=sku(number), name=f"{brand} {quality} {noun}",
        description=f"The {quality.lower()} {noun.lower()} from {brand}, in {colour.lower()}. "
                    f"{rng.choice(PRAISE)}.",
        price=Decimal(f"{whole}.{rng.choice(('99', '49'))}"), currency="USD", category=category,
        image_urls=[f"https://picsum.photos/seed/{sku(number)}/640/480"],
    )


def demo_stock(product_sku: str) -> int:
    """Units on hand for a demo product: most in stock, some sold out."""
    rng = random.Random(product_sku)  # noqa: S311 (reproducible demo data, not secrets)
    return rng.choice((0, 0, 3, 8, 15, 25, 40, 60, 120))
