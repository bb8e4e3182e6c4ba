"""A product catalog with sibling families, and the corruptions real sources show.

:func:`make_catalog` draws clean *entities* (one row per real-world product);
:func:`render_records` turns a list of entity indices into noisy *records*, as
two shops or two crawls of the same shop would list them. Everything is
vectorised with numpy or done in one pass of cheap string operations per
corrupted value, so a million records take seconds.

Planted causes. A *family* is a base product and up to three siblings. All
entities of a family vary along one *axis*, ``model``, ``capacity`` or
``colour``: their clean values are identical in every column except that one,
where they are pairwise distinct. Capacity and colour siblings share the model
number and the price; the title and description never mention the model,
capacity or colour. So for any two entities of a family the reason they are
different products lives in exactly one column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ATTRIBUTES", "PLANTABLE", "Catalog", "make_catalog"]

ATTRIBUTES = (
    "brand",
    "title",
    "model",
    "category",
    "capacity",
    "colour",
    "price",
    "description",
)
"""The columns of a synthetic product record, in order."""

PLANTABLE = ("model", "capacity", "colour")
"""The columns a sibling family can differ in (the planted causes)."""

# brand -> (model-number prefix, categories it sells). Prefixes are unique, so
# model numbers never collide across brands.
BRANDS: dict[str, tuple[str, str]] = {
    "Samsung": ("SM", "spmd"), "SanDisk": ("SDX", "s"), "Western Digital": ("WD", "s"),
    "Seagate": ("ST", "s"), "Kingston": ("KF", "sm"), "Crucial": ("CT", "sm"),
    "Lexar": ("LX", "s"), "Sony": ("SNY", "ap"), "Bose": ("BS", "a"), "JBL": ("JB", "a"),
    "Sennheiser": ("SH", "a"), "Logitech": ("LG", "ea"), "Razer": ("RZ", "ela"),
    "Corsair": ("CR", "mea"), "Asus": ("AS", "ld"), "Acer": ("AC", "ld"), "Lenovo": ("LN", "lpd"),
    "Dell": ("DL", "lde"), "HP": ("HP", "lde"), "Apple": ("AP", "lpr"), "Microsoft": ("MS", "le"),
    "Anker": ("AK", "wa"), "Belkin": ("BK", "we"), "Philips": ("PH", "ad"),
    "Panasonic": ("PN", "a"), "Garmin": ("GM", "r"), "Fitbit": ("FB", "r"),
    "Xiaomi": ("XM", "prw"), "Huawei": ("HW", "prl"), "OnePlus": ("OP", "p"),
    "Motorola": ("MT", "p"), "Toshiba": ("TS", "s"), "Verbatim": ("VB", "s"),
    "PNY": ("PY", "sm"), "Transcend": ("TR", "s"), "Jabra": ("JA", "a"),
    "Audio-Technica": ("ATH", "a"), "Skullcandy": ("SC", "a"), "LG": ("LGE", "dp"),
    "BenQ": ("BQ", "d"), "ViewSonic": ("VS", "d"), "SteelSeries": ("SS", "ea"),
    "HyperX": ("HX", "mea"), "Ugreen": ("UG", "w"), "Aukey": ("AU", "w"),
}  # fmt: skip
_CATEGORY_CODES = {
    "s": "storage", "l": "laptops", "p": "phones", "m": "memory", "w": "power",
    "a": "audio", "e": "peripherals", "d": "displays", "r": "wearables",
}  # fmt: skip

SYLLABLES = (
    "ze", "no", "va", "tri", "lu", "ka", "mi", "sol", "ver", "ax", "ion", "qu", "ra",
    "to", "el", "fi", "gen", "or", "pix", "tek", "vo", "zen", "cor", "lex",
)  # fmt: skip
SERIES = ("", " Pro", " Max", " X", " 2", " Air", " Lite", " Plus", " Ultra", " S", " Mini", " 3")

# category -> (product types, capacities or (), features, price range in dollars)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[int, int]]] = {
    "storage": (
        ("Portable SSD", "External Hard Drive", "USB Flash Drive", "microSD Card"),
        ("64 GB", "128 GB", "256 GB", "512 GB", "1 TB", "2 TB", "4 TB"),
        ("usb-c connection", "shock resistant casing", "hardware encryption",
         "fast transfer speeds",
         "compact aluminium body", "password protection", "backup software included",
         "water and dust resistant", "plug and play setup", "three year warranty"),
        (15, 400),
    ),
    "laptops": (
        ("Laptop", "Ultrabook", "Chromebook", "2-in-1 Laptop", "Gaming Laptop"),
        ("256 GB", "512 GB", "1 TB", "2 TB"),
        ("full hd display", "backlit keyboard", "fingerprint reader", "all day battery life",
         "thunderbolt port", "wifi 6 wireless", "aluminium chassis", "fast charging",
         "dedicated graphics", "webcam with privacy shutter"),
        (300, 2500),
    ),
    "phones": (
        ("Smartphone", "5G Smartphone", "Rugged Phone"),
        ("64 GB", "128 GB", "256 GB", "512 GB"),
        ("triple camera system", "oled display", "wireless charging", "face unlock",
         "water resistant", "dual sim support", "fast charging", "stereo speakers",
         "120 hz refresh rate", "large battery"),
        (150, 1400),
    ),
    "memory": (
        ("DDR4 RAM Kit", "DDR5 RAM Kit", "Laptop Memory Module"),
        ("8 GB", "16 GB", "32 GB", "64 GB"),
        ("low latency timings", "heat spreader", "rgb lighting", "xmp profile support",
         "lifetime warranty", "tested for compatibility", "overclocking ready"),
        (25, 350),
    ),
    "power": (
        ("Power Bank", "Portable Charger", "Magnetic Battery Pack"),
        ("5000 mAh", "10000 mAh", "20000 mAh", "26800 mAh"),
        ("usb-c power delivery", "dual usb ports", "led charge indicator", "slim design",
         "fast charging", "pass through charging", "airline safe"),
        (15, 150),
    ),
    "audio": (
        ("Wireless Headphones", "Noise Cancelling Headphones", "True Wireless Earbuds",
         "Bluetooth Speaker", "Gaming Headset"),
        (),
        ("active noise cancelling", "30 hour battery", "bluetooth 5.3", "built in microphone",
         "foldable design", "deep bass", "water resistant", "multipoint pairing",
         "touch controls", "carrying case included"),
        (20, 450),
    ),
    "peripherals": (
        ("Wireless Mouse", "Mechanical Keyboard", "Gaming Mouse", "Wireless Keyboard", "Webcam"),
        (),
        ("ergonomic shape", "rechargeable battery", "bluetooth and usb receiver", "quiet clicks",
         "programmable buttons", "rgb backlight", "adjustable dpi", "plug and play setup",
         "full hd video", "multi device switching"),
        (15, 250),
    ),
    "displays": (
        ("Monitor", "Gaming Monitor", "Portable Monitor", "Curved Monitor"),
        (),
        ("ips panel", "144 hz refresh rate", "hdr support", "usb-c input",
         "height adjustable stand",
         "thin bezels", "flicker free", "built in speakers", "adaptive sync", "vesa mount"),
        (100, 900),
    ),
    "wearables": (
        ("Smartwatch", "Fitness Tracker", "Sports Watch"),
        (),
        ("heart rate monitor", "built in gps", "sleep tracking", "water resistant to 50 m",
         "seven day battery", "contactless payments", "always on display", "blood oxygen sensor"),
        (40, 600),
    ),
}  # fmt: skip

COLOURS = (
    "black", "white", "silver", "grey", "blue", "red", "green", "gold", "rose gold",
    "midnight blue", "space grey", "pink", "purple", "yellow",
)  # fmt: skip
COLOUR_ABBREVIATIONS = {
    "black": "blk", "white": "wht", "silver": "slv", "grey": "gray", "blue": "blu",
    "red": "rd", "green": "grn", "gold": "gld", "rose gold": "rose gld",
    "midnight blue": "midnight blu", "space grey": "space gray", "pink": "pnk",
    "purple": "prpl", "yellow": "ylw",
}  # fmt: skip
WORD_ABBREVIATIONS = {
    "wireless": "wl", "bluetooth": "bt", "portable": "port.", "external": "ext",
    "headphones": "hdphns", "keyboard": "kbd", "mechanical": "mech", "monitor": "mon",
    "with": "w/", "and": "&", "noise": "nc", "cancelling": "canc.", "battery": "batt",
    "display": "disp", "charging": "chg", "support": "supp", "speakers": "spkrs",
    "speaker": "spkr", "hard": "hd", "drive": "drv", "memory": "mem", "smartphone": "phone",
    "resistant": "res.", "design": "dsgn", "included": "incl", "built": "blt",
}  # fmt: skip
UNIT_NAMES = {"GB": "gigabytes", "TB": "terabytes", "mAh": "milliamp hours"}
MODEL_SUFFIXES = ("A", "B", "X", "Z", "AZ", "LX", "MK", "TS", "R", "S", "V", "Q")
MODEL_NUMBERS = 99_000  # numbers 1000..99999
AXIS_NAMES = ("", *PLANTABLE)
_NAN = float("nan")


@dataclass(frozen=True, eq=False)
class Catalog:
    """Clean entities as column arrays (row ``i`` is entity ``i``).

    Attributes:
        values: attribute -> object array of clean values (``NaN`` = none).
        family: family index of every entity.
        axis: the planted column of the entity's family (``""`` for a family of one).
        brand_category: integer key of (brand, category), for similar negatives.
    """

    values: dict[str, np.ndarray]
    family: np.ndarray
    axis: np.ndarray
    brand_category: np.ndarray

    def __len__(self) -> int:
        return len(self.family)

    def to_frame(self, ids: np.ndarray) -> pd.DataFrame:
        """The clean entities as a table indexed by ``ids`` (plus family and axis)."""
        frame = pd.DataFrame(
            {c: self.values[c] for c in ATTRIBUTES}, index=pd.Index(ids, name="entity")
        )
        frame["family"] = self.family
        frame["planted_axis"] = self.axis
        return frame


def _family_sizes(n_entities: int, sibling_rate: float, rng: np.random.Generator) -> np.ndarray:
    """Sizes of the families (1 = a product without siblings), summing to ``n_entities``."""
    n_siblings = round(n_entities * sibling_rate)
    extra = rng.integers(1, 4, size=n_siblings + 1)  # 1-3 siblings per base
    cum = np.cumsum(extra)
    k = int(np.searchsorted(cum, n_siblings, side="left")) + 1 if n_siblings else 0
    extra = extra[:k].copy()
    if k:
        extra[-1] -= int(cum[k - 1] - n_siblings)
    if n_siblings + k > n_entities:  # too few bases for the random draw: biggest families
        k = -(-n_siblings // 3)
        extra = np.full(k, 3, dtype=np.int64)
        extra[-1] -= 3 * k - n_siblings
    n_single = n_entities - n_siblings - k
    if n_single < 0:
        raise ValueError(
            f"sibling_rate={sibling_rate} leaves too few base products for {n_entities} "
            "entities; use sibling_rate <= 0.75"
        )
    sizes = np.concatenate([extra + 1, np.ones(n_single, dtype=np.int64)])
    return rng.permutation(sizes)


def _line_names(n: int, rng: np.random.Generator) -> np.ndarray:
    s = np.array(SYLLABLES, dtype=object)
    a, b = rng.integers(0, len(s), size=(2, n))
    series = np.array(SERIES, dtype=object)[rng.integers(0, len(SERIES), size=n)]
    return np.array([(x + y).capitalize() for x, y in zip(s[a], s[b], strict=True)]) + series


def make_catalog(
    n_entities: int, rng: np.random.Generator, *, sibling_rate: float = 0.3
) -> Catalog:
    """Draw ``n_entities`` clean products, grouped into sibling families."""
    sizes = _family_sizes(n_entities, sibling_rate, rng)
    n_fam = len(sizes)
    family = np.repeat(np.arange(n_fam), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(n_entities) - first[family]  # 0 = base, 1.. = siblings

    cat_names = list(CATEGORIES)
    brands = list(BRANDS)
    # family-level draws: what every member shares
    fam_code = rng.choice(len(brands) * MODEL_NUMBERS * len(MODEL_SUFFIXES), n_fam, replace=False)
    fam_brand = fam_code // (MODEL_NUMBERS * len(MODEL_SUFFIXES))
    # the category: one of the brand's categories
    brand_cats = [[cat_names.index(_CATEGORY_CODES[k]) for k in BRANDS[b][1]] for b in brands]
    width = max(len(c) for c in brand_cats)
    table = np.array([(c * width)[:width] for c in brand_cats])
    n_cats = np.array([len(c) for c in brand_cats])
    fam_cat = table[fam_brand, (rng.random(n_fam) * n_cats[fam_brand]).astype(np.int64)]
    fam_type = rng.random(n_fam) * np.array([len(CATEGORIES[c][0]) for c in cat_names])[fam_cat]
    fam_type = fam_type.astype(np.int64)
    fam_line = _line_names(n_fam, rng)
    n_caps = np.array([len(CATEGORIES[c][1]) for c in cat_names])[fam_cat]
    fam_cap = (rng.random(n_fam) * np.maximum(n_caps, 1)).astype(np.int64)
    fam_colour = rng.integers(0, len(COLOURS), size=n_fam)
    lo_hi = np.array([CATEGORIES[c][3] for c in cat_names], dtype=float)[fam_cat]
    fam_price = np.exp(rng.uniform(np.log(lo_hi[:, 0]), np.log(lo_hi[:, 1])))
    fam_price = np.floor(fam_price) + 0.99
    # the axis: capacity only where the category has capacities
    axis_draw = rng.integers(0, 3, size=n_fam)
    axis_draw = np.where((axis_draw == 1) & (n_caps == 0), 2, axis_draw)
    fam_axis = np.where(sizes > 1, axis_draw + 1, 0)

    # entity-level values: family value, then the axis column varied by rank
    e_axis = fam_axis[family]
    cap = fam_cap[family].copy()
    sel = (e_axis == 2) & (rank > 0)
    cap[sel] = (cap[sel] + rank[sel]) % n_caps[family][sel]
    colour = fam_colour[family].copy()
    sel = (e_axis == 3) & (rank > 0)
    step = rng.integers(1, 4, size=n_fam)[family]  # 3 siblings x step 3 < 14 colours
    colour[sel] = (colour[sel] + rank[sel] * step[sel]) % len(COLOURS)
    code = fam_code[family].copy()
    sel = (e_axis == 1) & (rank > 0)
    code[sel] = _sibling_codes(fam_code, family[sel], rank[sel], rng)

    per_brand = MODEL_NUMBERS * len(MODEL_SUFFIXES)
    prefix = np.array([p for p, _ in BRANDS.values()], dtype=object)[code // per_brand]
    number = (code % per_brand) // len(MODEL_SUFFIXES) + 1000
    suffix = np.array(MODEL_SUFFIXES, dtype=object)[code % len(MODEL_SUFFIXES)]
    model = np.array(
        [f"{p}-{n}{s}" for p, n, s in zip(prefix, number.tolist(), suffix, strict=True)],
        dtype=object,
    )

    brand_names = np.array(brands, dtype=object)[fam_brand]
    cats = np.array(cat_names, dtype=object)[fam_cat]
    types = np.array(
        [CATEGORIES[c][0][t] for c, t in zip(cats, fam_type.tolist(), strict=True)], dtype=object
    )
    titles = brand_names + " " + fam_line + " " + types
    descriptions = _descriptions(cats, types, rng)
    capacity = np.array(
        [CATEGORIES[c][1][k] if CATEGORIES[c][1] else _NAN
         for c, k in zip(cats[family], cap.tolist(), strict=True)],
        dtype=object,
    )  # fmt: skip
    values = {
        "brand": brand_names[family],
        "title": titles[family],
        "model": model,
        "category": cats[family],
        "capacity": capacity,
        "colour": np.array(COLOURS, dtype=object)[colour],
        "price": np.array([f"{p:.2f}" for p in fam_price.tolist()], dtype=object)[family],
        "description": descriptions[family],
    }
    key = fam_brand * len(cat_names) + fam_cat
    return Catalog(values, family, np.array(AXIS_NAMES, dtype=object)[e_axis], key[family])


def _sibling_codes(
    fam_code: np.ndarray, fam: np.ndarray, rank: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Model codes one digit step or one suffix away from the base, unique overall."""
    n_suffix = len(MODEL_SUFFIXES)
    used = set(fam_code.tolist())
    out = np.empty(len(fam), dtype=np.int64)
    steps = rng.integers(1, 10, size=len(fam)) * np.where(rng.random(len(fam)) < 0.5, -1, 1)
    use_suffix = rng.random(len(fam)) < 0.4
    for i, (base, r) in enumerate(zip(fam_code[fam].tolist(), rank.tolist(), strict=True)):
        brand_base = base - base % (MODEL_NUMBERS * n_suffix)
        number, suffix = divmod(base % (MODEL_NUMBERS * n_suffix), n_suffix)
        tries = 0
        while True:
            if use_suffix[i] and tries < n_suffix:
                cand_num, cand_suf = number, (suffix + r + tries) % n_suffix
            else:
                cand_num = (number + int(steps[i]) * (r + tries)) % MODEL_NUMBERS
                cand_suf = suffix
            cand = brand_base + cand_num * n_suffix + cand_suf
            if cand not in used:
                break
            tries += 1
        used.add(cand)
        out[i] = cand
    return out


def _descriptions(cats: np.ndarray, types: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(cats)
    k = rng.integers(2, 5, size=n)
    order = rng.random((n, 10)).argsort(axis=1)
    out = np.empty(n, dtype=object)
    for i, (c, t) in enumerate(zip(cats.tolist(), types.tolist(), strict=True)):
        feats = CATEGORIES[c][2]
        chosen = [feats[j] for j in order[i] if j < len(feats)][: k[i]]
        out[i] = f"{t.lower()} with " + ", ".join(chosen[:-1]) + " and " + chosen[-1]
    return out
