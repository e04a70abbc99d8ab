"""Issue 12, item 4: the headline vocabulary of the strike topics in ar, en and fa.

For each concept (strike verb, strike noun, IRGC name, attacker name, retrospective
word, US forces noun) the common forms and spellings a headline uses, each in a
template headline of our own, and look-alikes that must stay out. A form missing from
the taxonomy fails here by name. Combinations of attacker, verb and Iranian place are
drawn by hypothesis: the direction must follow the attacker, never the place.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.enricher.topics import TopicClassifier
from tests.enricher.topics.helpers import HYPOTHESIS, _ids

_EN_VERBS = [
    "strikes", "struck", "hits", "hit", "attacks", "attacked", "bombs", "bombed", "pounds",
    "pounded", "shells", "shelled", "targets", "targeted", "raids", "raided", "strafed",
    "fires missiles at", "fired missiles at", "launches drones at", "launched missiles at",
    "rains missiles on", "carries out strikes on", "launches strikes on",
    "launched airstrikes on", "conducts airstrikes on",
]  # fmt: skip
_EN_NOUNS = [
    "strike", "strikes", "airstrike", "airstrikes", "air strikes", "air raid", "missile strike",
    "missile attack", "drone attack", "drone strikes", "rocket attack", "bombardment",
    "bombing", "barrage", "salvo", "missile salvo", "attack", "raid", "assault", "onslaught",
    "retaliatory strike", "counterstrike", "wave of strikes", "precision strikes",
    "missile barrage", "ballistic missile attack", "cruise missile strike",
]  # fmt: skip
_AR_VERBS = [
    "تقصف", "قصفت", "تضرب", "ضربت", "تهاجم", "هاجمت", "تستهدف", "استهدفت", "تغير على",
    "أغارت على", "تدك", "دكت", "تشن غارات على", "شنت غارات على", "تشن هجوما على",
    "تطلق صواريخ على", "أطلقت صواريخ على", "تنفذ ضربات على", "نفذت ضربات على",
]  # fmt: skip
_AR_NOUNS = [
    "ضربة", "ضربات", "غارة", "غارات", "غارات جوية", "قصف", "هجوم", "هجمات", "هجوم صاروخي",
    "ضربة صاروخية", "رشقة صاروخية", "وابل صواريخ", "عدوان", "اعتداء", "ضربة جوية", "قصف جوي",
    "قصف صاروخي", "هجوم بطائرات مسيرة", "غارتان",
]  # fmt: skip
_FA_OBJECT_VERBS = [
    "را بمباران کرد", "را هدف قرار داد", "را موشک‌باران کرد", "را کوبید", "را مورد حمله قرار داد",
    "را هدف گرفت", "را درهم کوبید", "را گلوله‌باران کرد", "را آماج حمله قرار داد",
    "را با موشک زد", "را با پهپاد زد",
]  # fmt: skip
_FA_NOUNS = [
    "حمله", "حملات", "حمله هوایی", "حمله موشکی", "حملات پهپادی", "بمباران", "ضربه", "ضربات",
    "موج حملات", "یورش هوایی", "تجاوز", "حمله پهپادی", "موشک‌باران", "حمله تلافی‌جویانه",
]  # fmt: skip

_CASES: list[tuple[str, str, set[str]]] = [
    *((f"Israel {v} military sites in Isfahan", "en", {"strikes-on-iran"}) for v in _EN_VERBS),
    *((f"Iran {v} military sites in Israel", "en", {"iran-strikes"}) for v in _EN_VERBS),
    *((f"Israeli {n} on Isfahan", "en", {"strikes-on-iran"}) for n in _EN_NOUNS),
    *((f"Iranian {n} on Tel Aviv", "en", {"iran-strikes"}) for n in _EN_NOUNS),
    *((f"إسرائيل {v} مواقع عسكرية في أصفهان", "ar", {"strikes-on-iran"}) for v in _AR_VERBS),
    *((f"إيران {v} مواقع عسكرية في إسرائيل", "ar", {"iran-strikes"}) for v in _AR_VERBS),
    *((f"{n} إسرائيلية على أصفهان", "ar", {"strikes-on-iran"}) for n in _AR_NOUNS),
    *((f"{n} إيرانية على تل أبيب", "ar", {"iran-strikes"}) for n in _AR_NOUNS),
    *((f"اسرائیل مواضع نظامی در اصفهان {v}", "fa", {"strikes-on-iran"}) for v in _FA_OBJECT_VERBS),
    *((f"ایران مواضع نظامی در اسرائیل {v}", "fa", {"iran-strikes"}) for v in _FA_OBJECT_VERBS),
    *((f"{n} اسرائیل به اصفهان", "fa", {"strikes-on-iran"}) for n in _FA_NOUNS),
    *((f"{n} ایران به تل‌آویو", "fa", {"iran-strikes"}) for n in _FA_NOUNS),
]


@pytest.mark.parametrize(("title", "language", "topics"), _CASES)
def test_strike_forms_give_the_direction(
    classifier: TopicClassifier, title: str, language: str, topics: set[str]
) -> None:
    assert _ids(classifier.classify(title=title, text="", language=language)) == topics


_IRGC = [
    ("en", "{} fires missiles at Kurdish groups in Erbil",
     ["IRGC", "Revolutionary Guards", "Revolutionary Guard", "Islamic Revolutionary Guard Corps",
      "Iranian army", "Iran's military", "Iranian forces", "IRGC Aerospace Force", "Quds Force",
      "Iran's armed forces", "Tehran", "Iranian military"]),
    ("ar", "{} يقصف مقرات جماعات كردية في أربيل",
     ["الحرس الثوري", "حرس الثورة", "الحرس الثوري الإيراني", "القوة الجوفضائية", "الجيش الإيراني",
      "فيلق القدس", "القوات المسلحة الإيرانية", "طهران", "إيران", "الحرس"]),
    ("fa", "{} مقرهای گروه‌های کرد در اربیل را هدف قرار داد",
     ["سپاه", "سپاه پاسداران", "هوافضای سپاه", "نیروی هوافضای سپاه", "ارتش ایران",
      "نیروهای مسلح ایران", "ایران", "قرارگاه حمزه سیدالشهدا", "پاسداران", "نیروی قدس"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("language", "title"),
    [(lang, template.format(name)) for lang, template, names in _IRGC for name in names],
)
def test_irgc_names_strike(classifier: TopicClassifier, language: str, title: str) -> None:
    found = _ids(classifier.classify(title=title, text="", language=language))
    assert found == {"iran-strikes", "iraq"}


_RETROSPECTIVE = [
    ("en", "{} Iran's missile attack on Ain al-Asad",
     ["Anniversary of", "One year since", "Five years after", "Inquiry into", "Investigation into",
      "Trial over", "Report on", "Memorial for victims of", "Documentary on", "Assessment of",
      "Damage assessment of", "Pentagon review of", "Lawsuit over", "Commemoration of"]),
    ("ar", "{} الهجوم الصاروخي الإيراني على عين الأسد",
     ["ذكرى", "بعد خمس سنوات على", "تحقيق في", "محاكمة بشأن", "تقرير عن", "تقييم", "تقييم أضرار",
      "وثائقي عن", "دعوى قضائية بشأن", "لجنة تحقيق في"]),
    ("fa", "{} حمله موشکی ایران به عین الاسد",
     ["سالگرد", "پنج سال پس از", "تحقیقات درباره", "دادگاه", "گزارش", "ارزیابی خسارت", "مستند",
      "بررسی", "یادبود قربانیان"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("language", "title"),
    [(lang, template.format(word)) for lang, template, words in _RETROSPECTIVE for word in words],
)
def test_retrospective_words_keep_the_strike_labels(
    classifier: TopicClassifier, language: str, title: str
) -> None:
    found = _ids(classifier.classify(title=title, text="", language=language))
    assert found == {"iran-strikes", "us-forces", "iraq"}


_FORCES = [
    ("en", "More US {} arrive in the Gulf",
     ["troops", "forces", "soldiers", "service members", "marines", "warplanes", "fighter jets",
      "bombers", "warships", "aircraft carrier", "destroyers", "advisers", "special forces",
      "personnel", "Patriot batteries", "air defences", "reinforcements", "submarines",
      "carrier strike group", "B-52s", "F-35s"]),
    ("ar", "{} تصل إلى الخليج",
     ["قوات أمريكية", "جنود أمريكيون", "حاملة طائرات أمريكية", "قاذفات أمريكية",
      "مقاتلات أمريكية", "مدمرة أمريكية", "غواصة أمريكية", "مشاة البحرية الأمريكية",
      "قوات التحالف", "مستشارون أمريكيون", "بطاريات باتريوت أمريكية", "مدمرتان أمريكيتان",
      "تعزيزات عسكرية أمريكية"]),
    ("fa", "{} وارد خلیج فارس شدند",
     ["نیروهای آمریکایی", "سربازان آمریکایی", "ناو هواپیمابر آمریکا", "بمب‌افکن‌های آمریکایی",
      "جنگنده‌های آمریکایی", "ناوشکن آمریکایی", "زیردریایی آمریکایی", "تفنگداران دریایی آمریکا",
      "نیروهای ائتلاف", "مستشاران آمریکایی", "سامانه پاتریوت آمریکا"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("language", "title"),
    [(lang, template.format(word)) for lang, template, words in _FORCES for word in words],
)
def test_us_forces_nouns(classifier: TopicClassifier, language: str, title: str) -> None:
    assert _ids(classifier.classify(title=title, text="", language=language)) == {"us-forces"}


# Look-alikes: the same words in a sense that earns no strike label.
_LOOKALIKES = [
    ("en", "Trump says he called off strikes on three Iranian sites", set()),
    ("en", "Planned strikes on Tehran were cancelled, officials say", set()),
    ("en", "Police raid warehouse in Tehran, seize fake medicines", set()),
    ("en", "Iranian tanker crashes into pier at Fujairah", set()),
    ("en", "US officials say Iran put a satellite into orbit", set()),
    ("en", "Turkey asks to rejoin the F-35 programme", set()),
    ("en", "Ukraine intercepts Iranian-made drones over Kyiv", set()),
    ("ar", "إسرائيل تلغي ضربة كانت مقررة على طهران", set()),
    ("ar", "شركتان أمريكيتان توقعان عقدا في البصرة", {"iraq"}),
    ("ar", "هجوم مسلح على مرقد في شيراز يوقع قتلى", set()),
    ("ar", "الشرطة الإيرانية تهاجم مخبأ لمهربين قرب زاهدان", set()),
    ("fa", "اسرائیل حمله برنامه‌ریزی‌شده به تهران را لغو کرد", set()),
    ("fa", "دولت در تهران زیر آتش انتقاد نمایندگان مجلس", set()),
    ("fa", "ماهواره پرتاب‌شده از سمنان در مدار قرار گرفت", set()),
    ("fa", "حمله مسلحانه به یک پاسگاه مرزی در سراوان", set()),
    ("fa", "اوکراین پهپادهای ایرانی‌ساخت روسیه را رهگیری کرد", set()),
]


@pytest.mark.parametrize(("language", "title", "topics"), _LOOKALIKES)
def test_lookalikes_stay_out(
    classifier: TopicClassifier, language: str, title: str, topics: set[str]
) -> None:
    assert _ids(classifier.classify(title=title, text="", language=language)) == topics


_ATTACKERS = {
    "en": ["Israel", "Israeli jets", "Israeli warplanes", "The IDF", "US bombers", "Pakistan"],
    "ar": ["إسرائيل", "طائرات إسرائيلية", "مقاتلات إسرائيلية", "الجيش الإسرائيلي", "باكستان"],
    "fa": ["اسرائیل", "جنگنده‌های اسرائیلی", "ارتش اسرائیل", "رژیم صهیونیستی", "پاکستان"],
}
_PLACES = {
    "en": ["Isfahan", "Natanz", "Tabriz", "Kermanshah", "western Iran", "Fordow"],
    "ar": ["أصفهان", "نطنز", "تبريز", "كرمانشاه", "غرب إيران", "فوردو"],
    "fa": ["اصفهان", "نطنز", "تبریز", "کرمانشاه", "غرب ایران", "فردو"],
}
_TEMPLATES = {
    "en": "{a} struck military sites near {p}",
    "ar": "{a} تقصف مواقع عسكرية قرب {p}",
    "fa": "{a} مواضع نظامی در {p} را بمباران کرد",
}


@HYPOTHESIS
@given(st.data())
def test_direction_follows_the_attacker_not_the_place(
    classifier: TopicClassifier, data: st.DataObject
) -> None:
    language = data.draw(st.sampled_from(sorted(_TEMPLATES)))
    title = _TEMPLATES[language].format(
        a=data.draw(st.sampled_from(_ATTACKERS[language])),
        p=data.draw(st.sampled_from(_PLACES[language])),
    )
    found = _ids(classifier.classify(title=title, text="", language=language))
    assert "strikes-on-iran" in found and "iran-strikes" not in found
