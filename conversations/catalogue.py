"""The services we offer and the Dhaka areas we serve, with their fixed slugs."""

from __future__ import annotations

from dataclasses import dataclass

from conversations.i18n import N_, translator


@dataclass(frozen=True, slots=True)
class Service:
    """A service: its slug (fixed by the operating interface), English name and a typical job."""

    slug: str
    name: str
    icon: str
    #: A problem as a customer of this service would put it, shown as an example to follow.
    example: str

    def label(self, lang: str) -> str:
        """Return the service's name in ``lang``."""
        return translator(lang)._(self.name)

    def example_in(self, lang: str) -> str:
        """Return the example problem in ``lang``."""
        return translator(lang)._(self.example)


@dataclass(frozen=True, slots=True)
class Area:
    """A Dhaka area: slug (fixed), Bengali and English names."""

    slug: str
    bn: str
    en: str

    def label(self, lang: str) -> str:
        """Return the area's name in ``lang``."""
        return self.bn if lang == "bn" else self.en


SERVICES: tuple[Service, ...] = (
    Service(
        "house-shifting",
        N_("House shifting"),
        "🚚",
        N_("2-bedroom flat, 3rd floor, no lift, moving to Uttara"),
    ),
    Service("masonry", N_("Masonry"), "🧱", N_("crack in the bathroom wall, water seeps through")),
    Service("plumbing", N_("Plumbing"), "🚰", N_("kitchen tap is leaking")),
    Service("electrical", N_("Electrician"), "💡", N_("ceiling fan does not turn on")),
    Service("ac-servicing", N_("AC servicing"), "❄️", N_("AC runs but does not cool")),
    Service("repairs", N_("Other repairs"), "🛠", N_("wardrobe door hinge is broken")),
)

AREAS: tuple[Area, ...] = (
    Area("mirpur", "মিরপুর", "Mirpur"),
    Area("uttara", "উত্তরা", "Uttara"),
    Area("dhanmondi", "ধানমন্ডি", "Dhanmondi"),
    Area("gulshan", "গুলশান", "Gulshan"),
    Area("banani", "বনানী", "Banani"),
    Area("mohammadpur", "মোহাম্মদপুর", "Mohammadpur"),
    Area("badda", "বাড্ডা", "Badda"),
    Area("rampura", "রামপুরা", "Rampura"),
    Area("motijheel", "মতিঝিল", "Motijheel"),
    Area("tejgaon", "তেজগাঁও", "Tejgaon"),
    Area("khilgaon", "খিলগাঁও", "Khilgaon"),
    Area("bashundhara", "বসুন্ধরা", "Bashundhara"),
    Area("farmgate", "ফার্মগেট", "Farmgate"),
    Area("old-dhaka", "পুরান ঢাকা", "Old Dhaka"),
    Area("savar", "সাভার", "Savar"),
    Area("baridhara", "বারিধারা", "Baridhara"),
    Area("mohakhali", "মহাখালী", "Mohakhali"),
    Area("moghbazar", "মগবাজার", "Moghbazar"),
    Area("malibagh", "মালিবাগ", "Malibagh"),
    Area("shantinagar", "শান্তিনগর", "Shantinagar"),
    Area("shyamoli", "শ্যামলী", "Shyamoli"),
    Area("kallyanpur", "কল্যাণপুর", "Kallyanpur"),
    Area("lalmatia", "লালমাটিয়া", "Lalmatia"),
    Area("azimpur", "আজিমপুর", "Azimpur"),
    Area("lalbagh", "লালবাগ", "Lalbagh"),
    Area("wari", "ওয়ারী", "Wari"),
    Area("jatrabari", "যাত্রাবাড়ী", "Jatrabari"),
    Area("khilkhet", "খিলক্ষেত", "Khilkhet"),
    Area("cantonment", "ক্যান্টনমেন্ট", "Cantonment"),
    Area("keraniganj", "কেরানীগঞ্জ", "Keraniganj"),
)

SERVICES_BY_SLUG = {service.slug: service for service in SERVICES}
AREAS_BY_SLUG = {area.slug: area for area in AREAS}
#: Slug of an area the customer typed themselves; such orders match ``all``-area technicians.
OTHER_AREA = "other"
ALL_AREAS = "all"


def service_label(slug: str, lang: str) -> str:
    """Return the name of service ``slug`` in ``lang`` (the slug itself if unknown)."""
    service = SERVICES_BY_SLUG.get(slug)
    return service.label(lang) if service else slug


def area_label(slug: str, lang: str, other: str | None = None) -> str:
    """Return the name of area ``slug`` in ``lang``; ``other`` is a typed area's name."""
    area = AREAS_BY_SLUG.get(slug)
    if area:
        return area.label(lang)
    return other or slug
