"""An offline STREET_ADDRESS recognizer: street lines by their shape in several conventions.

- number first, capitalised street name, street type: "221B Baker Street", "12 Oak Ave., Apt 4";
- French number first, lower-case type: "12 rue de la Paix";
- street type first, number last: "Rua Augusta 274", "Via Roma 10", "ul. Długa 5/7";
- compound street name, number: "Hauptstraße 5", "Keizersgracht 12", "Koskikatu 25".

Only the street line is found; city, postcode and country that follow it are not.
"""

from __future__ import annotations

import re
from typing import Final

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

_TYPES_EN: Final = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|"
    "Square|Sq|Terrace|Close|Crescent|Parkway|Pkwy|Highway|Hwy|Loop|Trail|Circle|Row|Walk|"
    "Gardens|Grove|Mews|Ridge|Heights|Crossing|Plaza|Alley|Route|Wharf|Junction|Expressway|"
    "Freeway|Hill|Park|Point|Pass|Prairie|Union|Creek|Estates|Meadows|Fields|Green|Vale|View"
)
_UNIT: Final = r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|#)\s*[\w-]+)?"
_NUMBER: Final = r"\d{1,6}[A-Za-z]?(?:-\d{1,5})?"
_CAPITALISED: Final = r"\p{Lu}[\p{L}'\u2019.-]*"
_PREFIX_TYPES: Final = (
    r"Rua|Avenida|Av\.|Avda\.|Calle|Carrera|Via|Viale|Piazza|Corso|Largo|Strada|Calea|"
    r"Bulevardul|Rue|Chemin|Allée|Ulica|ul\.|Aleja|al\.|Plac|Travessa|Praça|Alameda"
)
_COMPOUND: Final = (
    r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|vej|gade|gatan|gata|vägen|"
    r"veien|gate|katu|tie|laan|straat|plein|gracht|kade|dreef|steeg|utca|ulice"
)

PATTERNS: Final = [
    Pattern(
        "number, name, type",
        rf"\b{_NUMBER}\s+(?:{_CAPITALISED}\s+){{1,4}}(?:{_TYPES_EN})\b\.?{_UNIT}",
        0.6,
    ),
    Pattern(
        "number, rue",
        rf"\b\d{{1,5}},?\s+(?i:rue|avenue|boulevard|chemin|allée|impasse|quai|place)\s+"
        rf"(?:[\p{{Ll}}'\u2019]+\s+){{0,3}}{_CAPITALISED}",
        0.6,
    ),
    Pattern(
        "type, name, number",
        rf"\b(?:{_PREFIX_TYPES})\s+(?:[\p{{L}}'\u2019.-]+\s+){{1,5}}?\d{{1,5}}\w?(?:[/-]\d{{1,5}}\w?)?{_UNIT}",
        0.6,
    ),
    Pattern(
        "compound name, number",
        rf"\b\p{{Lu}}[\p{{L}}-]*(?i:{_COMPOUND})\s+\d{{1,5}}\w?(?:[/-]\d{{1,5}}\w?)?{_UNIT}",
        0.6,
    ),
]


# Matches wherever any pattern above can: a number before a capital or a French street type, a
# capitalised word before a number, or a street-type word. Most texts fail it and skip the four
# patterns.
_GATE: Final = regex.compile(
    rf"\d[A-Za-z]?,?\s+(?:\p{{Lu}}|(?i:rue|avenue|boulevard|chemin|allée|impasse|quai|place)\b)"
    rf"|\p{{Lu}}[\p{{L}}'\u2019.-]*\s+\d|\b(?:{_PREFIX_TYPES})\s"
)


class StreetAddressRecognizer(PatternRecognizer):
    """STREET_ADDRESS street lines by pattern; case-sensitive, since capitals carry the signal."""

    def __init__(self, *, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            patterns=PATTERNS,
            context=["address", "lives", "live", "street", "ship", "deliver"],
            supported_language=supported_language,
            name="StreetAddressRecognizer",
            global_regex_flags=re.MULTILINE,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Street lines in `text`."""
        if not _GATE.search(text):
            return []
        return super().analyze(text, entities, nlp_artifacts, regex_flags)
