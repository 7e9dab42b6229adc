"""Reference tables of route screening: CMS listings, planning spacings, IFC PS6 wording.

Everything here is small, documented and replaceable: pass your own tables to
:func:`cami_atlas.screening.screen_route` (``cms_appendix=``, ``max_spacing_km=``).
"""

from __future__ import annotations

import pandas as pd

from ..schema import canonical_species_name

__all__ = [
    "CMS_APPENDICES",
    "CMS_SOURCE",
    "DEFAULT_MAX_SPACING_KM",
    "DEFAULT_SPACING_KM",
    "IUCN_CATEGORIES",
    "PS6_CRITERIA",
    "PS6_SOURCE",
    "SPACING_NOTE",
    "cms_appendix_of",
    "max_spacing_of",
]

#: Source of :data:`CMS_APPENDICES`.
CMS_SOURCE = ("Convention on the Conservation of Migratory Species of Wild Animals (CMS), "
              "Appendices I and II as amended by the Conference of the Parties at its 14th "
              "meeting (COP14, Samarkand, February 2024), in force 2024.")

#: CMS Appendix of CAMI species, by canonical name (PHYLACINE/IUCN 2016 names as in the
#: default atlas, plus the names the 2017 barrier matrix uses). Only listings we are sure
#: of are given; a species not in this table is "not known here", not "not listed".
#: Notes: *Acinonyx jubatus* is on Appendix I except the populations of Botswana, Namibia
#: and Zimbabwe (not in the CAMI region); *Camelus ferus* is listed as *Camelus
#: bactrianus* (wild populations); *Equus ferus* (Przewalski's horse) was added to
#: Appendix I at COP14.
CMS_APPENDICES: dict[str, str] = {
    "Saiga_tatarica": "II",
    "Saiga_mongolica": "II",
    "Saiga_spp": "II",
    "Procapra_gutturosa": "II",
    "Gazella_subgutturosa": "II",
    "Equus_hemionus": "II",
    "Ovis_ammon": "II",
    "Camelus_ferus": "I",
    "Camelus_bactrianus": "I",
    "Panthera_uncia": "I",
    "Acinonyx_jubatus": "I",
    "Acinonyx_jubatus_venaticus": "I",
    "Panthera_pardus": "II",
    "Equus_ferus": "I",
}

#: IUCN Red List categories (code -> name) used in flags.
IUCN_CATEGORIES: dict[str, str] = {
    "CR": "Critically Endangered", "EN": "Endangered", "VU": "Vulnerable",
    "NT": "Near Threatened", "LC": "Least Concern", "DD": "Data Deficient",
    "EW": "Extinct in the Wild", "EX": "Extinct",
}

#: Planning default of the largest spacing between crossing structures, km, by species
#: (key: canonical name or the 2017 matrix name). These are assumptions of this
#: library for early screening, chosen by movement type (open-plains migrants that move
#: in large herds get the closest spacing; mountain species whose movement concentrates
#: in valleys a wider one), NOT published or expert values: replace them with the
#: species experts' figures for the EIA.
DEFAULT_SPACING_KM: dict[str, float] = {
    "Saiga_spp": 5.0,
    "Saiga_tatarica": 5.0,
    "Procapra_gutturosa": 5.0,
    "Gazella_subgutturosa": 5.0,
    "Gazella_bennettii": 5.0,
    "Equus_hemionus": 5.0,
    "Equus_ferus": 5.0,
    "Equus_kiang": 5.0,
    "Camelus_ferus": 5.0,
    "Camelus_bactrianus": 5.0,
    "Bos_mutus": 10.0,
    "Ovis_ammon": 10.0,
    "Ovis_orientalis": 10.0,
    "Panthera_uncia": 10.0,
    "Panthera_pardus": 10.0,
    "Acinonyx_jubatus": 10.0,
    "Acinonyx_jubatus_venaticus": 10.0,
    "Ursus_arctos": 10.0,
    "Cervus_hanglu_bactrianus": 5.0,
}
#: Spacing for species not in :data:`DEFAULT_SPACING_KM`.
DEFAULT_MAX_SPACING_KM = 5.0
#: The caveat printed wherever the spacing is used.
SPACING_NOTE = ("Maximum spacings between crossing structures are planning defaults of "
                "cami_atlas (5 km for open-plains ungulates, 10 km for mountain species and "
                "large carnivores), not published or expert values; replace them with the "
                "species experts' figures.")

#: Source of :data:`PS6_CRITERIA`.
PS6_SOURCE = ("IFC Performance Standard 6: Biodiversity Conservation and Sustainable "
              "Management of Living Natural Resources (2012), paragraph 16.")

#: IFC PS6 paragraph 16: the five criteria of critical habitat (quoted in substance).
PS6_CRITERIA: dict[str, str] = {
    "i": "habitat of significant importance to Critically Endangered and/or Endangered "
         "species",
    "ii": "habitat of significant importance to endemic and/or restricted-range species",
    "iii": "habitat supporting globally significant concentrations of migratory species "
           "and/or congregatory species",
    "iv": "highly threatened and/or unique ecosystems",
    "v": "areas associated with key evolutionary processes",
}


def cms_appendix_of(species: str, table: dict[str, str] | None = None) -> str:
    """CMS Appendix (``"I"``, ``"II"``, ``"I/II"``) of a species, or ``""`` if not known here.

    Examples
    --------
    >>> cms_appendix_of("saiga tatarica"), cms_appendix_of("Equus_kiang")
    ('II', '')
    """
    t = CMS_APPENDICES if table is None else table
    key = canonical_species_name(species)
    if key in t:
        return str(t[key])
    from ..barriers import matrix_species

    target = matrix_species([key]).get(key)
    return str(t.get(target, "")) if target else ""


def max_spacing_of(species: str, table: dict[str, float] | None = None) -> float:
    """Planning maximum spacing of crossing structures for a species, km.

    Looks up the canonical name, then its 2017-matrix species, then falls back to
    :data:`DEFAULT_MAX_SPACING_KM`.

    Examples
    --------
    >>> max_spacing_of("Ovis_ammon"), max_spacing_of("Equus_hemionus_kulan")
    (10.0, 5.0)
    >>> max_spacing_of("Ovis_ammon", {"default": 7, "Saiga_tatarica": 3})
    7.0
    """
    # the key "default" (any case) is the fallback of unlisted species, not a species name
    t = DEFAULT_SPACING_KM if table is None else {
        "default" if str(k).strip().lower() == "default" else canonical_species_name(k): float(v)
        for k, v in table.items()}
    key = canonical_species_name(species)
    if key in t:
        return float(t[key])
    from ..barriers import matrix_species

    target = matrix_species([key]).get(key)
    if target and target in t:
        return float(t[target])
    return float(t.get("default", DEFAULT_MAX_SPACING_KM))


def reference_table() -> pd.DataFrame:
    """The CMS and spacing tables side by side (for reports).

    Examples
    --------
    >>> reference_table().set_index("species").loc["Panthera_uncia", "cms_appendix"]
    'I'
    """
    names = sorted(set(CMS_APPENDICES) | set(DEFAULT_SPACING_KM))
    return pd.DataFrame({"species": names,
                         "cms_appendix": [CMS_APPENDICES.get(n, "") for n in names],
                         "max_spacing_km": [DEFAULT_SPACING_KM.get(n, DEFAULT_MAX_SPACING_KM)
                                            for n in names]})
