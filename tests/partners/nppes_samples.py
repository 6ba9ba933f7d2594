"""A small excerpt of the NPPES data file in its real shape (the published header names, 15 taxonomy slots), and a
recorded answer of the registry's API in its real shape, for the prospecting tests."""

import csv
import io

from partners.models import npi_is_valid

HEAD = [
    "NPI",
    "Entity Type Code",
    "Replacement NPI",
    "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)",
    "Provider Last Name (Legal Name)",
    "Provider First Name",
    "Provider Middle Name",
    "Provider Name Prefix Text",
    "Provider Name Suffix Text",
    "Provider Credential Text",
    "Provider First Line Business Mailing Address",
    "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name",
    "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number",
    "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Reason Code",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    "Provider Sex Code",
]
TAXONOMY_GROUP = [
    "Healthcare Provider Taxonomy Code_{}",
    "Provider License Number_{}",
    "Provider License Number State Code_{}",
    "Healthcare Provider Primary Taxonomy Switch_{}",
]
HEADER = HEAD + [name.format(slot) for slot in range(1, 16) for name in TAXONOMY_GROUP] + ["Certification Date"]


def make_npi(base9):
    """A valid NPI from nine digits (the tenth is the check digit)."""
    for check in range(10):
        if npi_is_valid(f"{base9}{check}"):
            return f"{base9}{check}"
    raise AssertionError(base9)


def provider_row(npi, *, entity="2", org="", last="", first="", credential="", street="", city="", state="MA",
                 zip_code="", phone="", taxonomies=(), primary=None):  # fmt: skip
    """One row of the file, every column present; ``taxonomies`` fill the slots, ``primary`` gets the Y switch."""
    values = dict.fromkeys(HEADER, "")
    values.update({
        "NPI": npi,
        "Entity Type Code": entity,
        "Provider Organization Name (Legal Business Name)": org,
        "Provider Last Name (Legal Name)": last,
        "Provider First Name": first,
        "Provider Credential Text": credential,
        "Provider First Line Business Practice Location Address": street,
        "Provider Business Practice Location Address City Name": city,
        "Provider Business Practice Location Address State Name": state,
        "Provider Business Practice Location Address Postal Code": zip_code,
        "Provider Business Practice Location Address Country Code (If outside U.S.)": "US",
        "Provider Business Practice Location Address Telephone Number": phone,
    })  # fmt: skip
    for slot, code in enumerate(taxonomies, start=1):
        values[f"Healthcare Provider Taxonomy Code_{slot}"] = code
        values[f"Healthcare Provider Primary Taxonomy Switch_{slot}"] = "Y" if code == (primary or code) else "N"
    return [values[name] for name in HEADER]


GLOW_NPI = make_npi("123456789")
PATEL_NPI = make_npi("198765432")
HARBOR_NPI = make_npi("155555555")
WORCESTER_NPI = make_npi("177777777")
CHIRO_NPI = make_npi("133333333")
DEACTIVATED_NPI = make_npi("144444444")


def sample_rows():
    return [
        provider_row(
            GLOW_NPI,
            org="GLOW DERMATOLOGY LLC",
            street="12 NEWBURY ST",
            city="BOSTON",
            zip_code="021163401",
            phone="6175550142",
            taxonomies=["207N00000X"],
        ),  # fmt: skip
        provider_row(
            PATEL_NPI,
            entity="1",
            last="PATEL",
            first="ANJALI",
            credential="M.D.",
            street="1 BROOKLINE PL",
            city="BROOKLINE",
            zip_code="02445",
            phone="6175550199",
            taxonomies=["208D00000X", "207N00000X"],
            primary="207N00000X",
        ),  # fmt: skip
        provider_row(
            HARBOR_NPI,
            org="HARBOR WOMENS HEALTH PC",
            street="5 WATER ST",
            city="CAMBRIDGE",
            zip_code="02139",
            phone="6175550111",
            taxonomies=["207V00000X"],
        ),  # fmt: skip
        provider_row(
            WORCESTER_NPI,
            org="WORCESTER SKIN CENTER",
            street="9 MAIN ST",
            city="WORCESTER",
            zip_code="01608",
            phone="5085550123",
            taxonomies=["207N00000X"],
        ),  # fmt: skip
        provider_row(
            CHIRO_NPI,
            org="BACK BAY CHIROPRACTIC",
            street="3 BOYLSTON ST",
            city="BOSTON",
            zip_code="02116",
            phone="6175550177",
            taxonomies=["111N00000X"],
        ),  # fmt: skip
        # Deactivated NPIs keep only the number and the dates in the file.
        [DEACTIVATED_NPI] + [""] * (len(HEADER) - 1),
    ]


def nppes_csv(rows=None, header=None):
    """The excerpt as the file's text: every value quoted, as CMS writes it."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(sample_rows() if rows is None else rows)
    return out.getvalue()


def api_result(npi, *, kind="NPI-2", org="", first="", last="", credential="", city="BOSTON", zip_code="02116",
               phone="617-555-0142", code="207N00000X", desc="Dermatology", street="12 NEWBURY ST"):  # fmt: skip
    """One entry of the API's "results", as version 2.1 returns it."""
    basic = (
        {"organization_name": org, "organizational_subpart": "NO", "status": "A", "enumeration_date": "2011-05-02"}
        if kind == "NPI-2"
        else {
            "first_name": first,
            "last_name": last,
            "credential": credential,
            "sole_proprietor": "NO",
            "sex": "F",
            "enumeration_date": "2008-01-01",
            "status": "A",
        }  # fmt: skip
    )
    address = {
        "country_code": "US", "country_name": "United States", "address_type": "DOM", "address_1": street,
        "address_2": "", "city": city, "state": "MA", "postal_code": f"{zip_code}1234", "telephone_number": phone,
    }  # fmt: skip
    return {
        "created_epoch": "1304339400000",
        "enumeration_type": kind,
        "last_updated_epoch": "1718236800000",
        "number": npi,
        "addresses": [{**address, "address_purpose": "MAILING"}, {**address, "address_purpose": "LOCATION"}],
        "practiceLocations": [],
        "basic": basic,
        "taxonomies": [
            {"code": code, "taxonomy_group": "", "desc": desc, "state": "MA", "license": "1", "primary": True}
        ],
        "identifiers": [],
        "endpoints": [],
        "other_names": [],
    }
