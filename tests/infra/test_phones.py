import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.template import Context, Template
from rest_framework import serializers

from infra.phones import (
    PhoneNumberFormField,
    PhoneNumberSerializerField,
    example_phone,
    format_phone,
    normalize_phone,
    phone_key,
    tel_uri,
)

BAD_EXAMPLES = ["call me", "12", "555-12", "617-CALL-NOW"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(617) 555-0123", "+16175550123"),
        ("617-555-0123", "+16175550123"),
        ("617.555.0123", "+16175550123"),
        ("1 617 555 0123", "+16175550123"),
        ("+1 (617) 555-0123", "+16175550123"),
        ("  6175550123 ", "+16175550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("617-555-0123 ext. 12", "+16175550123;ext=12"),
        ("617-555-0123 x12", "+16175550123;ext=12"),
        ("(617) 555-0123 extension 4321", "+16175550123;ext=4321"),
        ("+16175550123;ext=12", "+16175550123;ext=12"),
        ("617-555-0123x12", "+16175550123;ext=12"),
        ("617 555 0123 #12", "+16175550123;ext=12"),
        ("tel:+1-617-555-0123", "+16175550123"),
        ("", ""),
    ],
)
def test_typed_numbers_are_stored_in_e164_with_their_extension(typed, stored):
    assert normalize_phone(typed, "US") == stored


def test_a_national_number_is_read_in_the_spas_country():
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(ValidationError):
        normalize_phone("020 7946 0958", "US")  # not a US number


@pytest.mark.parametrize("typed", BAD_EXAMPLES)
def test_the_bad_examples_are_refused_with_an_example_number(typed):
    with pytest.raises(ValidationError) as error:
        normalize_phone(typed, "US")
    assert "(617) 555-0123" in error.value.messages[0]


def test_a_vanity_number_is_refused_not_converted():
    with pytest.raises(ValidationError) as error:
        normalize_phone("617-CALL-NOW", "US")
    assert error.value.code == "phone_letters"
    assert error.value.messages == ["Enter the phone number in digits, such as (617) 555-0123."]


def test_a_possible_but_unassigned_number_is_refused():
    with pytest.raises(ValidationError):
        normalize_phone("(555) 555-5555", "US")  # area code 555 does not exist


def test_the_example_follows_the_region():
    assert example_phone("US") == "(617) 555-0123"
    assert example_phone("GB") == "020 7946 0958"
    assert example_phone("FR").startswith("01")


@pytest.mark.parametrize(
    ("stored", "region", "shown"),
    [
        ("+16175550123", "US", "(617) 555-0123"),
        ("+16175550123;ext=12", "US", "(617) 555-0123 ext. 12"),
        ("+442079460958", "US", "+44 20 7946 0958"),
        ("+442079460958", "GB", "020 7946 0958"),
        ("+16175550123", "GB", "+1 617-555-0123"),
        ("(617) 555-0142", "US", "(617) 555-0142"),  # typed before validation, still a valid number
        ("call me", "US", "call me"),  # legacy text stays as it was
        ("617-CALL-NOW", "US", "617-CALL-NOW"),  # never converted into digits
        ("555-0100", "US", "555-0100"),
        ("", "US", ""),
        (None, "US", ""),
    ],
)
def test_numbers_show_nationally_at_home_and_internationally_abroad(stored, region, shown):
    assert format_phone(stored, region) == shown


def test_tel_links_dial_the_whole_number():
    assert tel_uri("+16175550123;ext=12") == "tel:+1-617-555-0123;ext=12"
    assert tel_uri("555-0100") == "tel:5550100"
    assert tel_uri("call me") == ""


def test_the_template_filter_uses_the_given_region_and_defaults_to_us():
    template = Template("{% load phones %}{{ a|phone }}|{{ a|phone:'GB' }}|{{ b|phone }}|{{ a|tel_href }}")
    rendered = template.render(Context({"a": "+16175550123", "b": "call me"}))
    assert rendered == "(617) 555-0123|+1 617-555-0123|call me|tel:+1-617-555-0123"


def test_phone_link_dials_what_it_can_and_escapes_the_rest():
    template = Template("{% load phones %}{{ a|phone_link }}|{{ b|phone_link }}|{{ c|phone_link }}")
    rendered = template.render(Context({"a": "+16175550123;ext=12", "b": "<call me>", "c": ""}))
    assert rendered == '<a href="tel:+1-617-555-0123;ext=12">(617) 555-0123 ext. 12</a>|&lt;call me&gt;|'


class _PhoneForm(forms.Form):
    phone = PhoneNumberFormField(required=False)


def test_the_form_field_is_a_tel_input_with_autocomplete_and_a_clear_error():
    form = _PhoneForm({"phone": "call me"})
    html = str(form["phone"])
    assert 'type="tel"' in html and 'autocomplete="tel"' in html and 'inputmode="tel"' in html
    assert not form.is_valid()
    assert form.errors["phone"] == ["Enter a phone number such as (617) 555-0123."]


def test_a_refused_value_is_shown_back_as_typed_and_a_stored_one_nationally():
    refused = _PhoneForm({"phone": "617-CALL-NOW"})
    assert not refused.is_valid()
    assert 'value="617-CALL-NOW"' in str(refused["phone"])
    stored = _PhoneForm(initial={"phone": "+16175550123;ext=12"})
    assert 'value="(617) 555-0123 ext. 12"' in str(stored["phone"])
    legacy = _PhoneForm(initial={"phone": "ask for Dana"})
    assert 'value="ask for Dana"' in str(legacy["phone"])


def test_the_form_field_reads_numbers_in_its_region():
    form = _PhoneForm({"phone": "020 7946 0958"})
    form.fields["phone"].region = "GB"
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+442079460958"


def test_the_form_field_accepts_blank_when_optional():
    form = _PhoneForm({"phone": ""})
    assert form.is_valid()
    assert form.cleaned_data["phone"] == ""


class _PhoneSerializer(serializers.Serializer):
    phone = PhoneNumberSerializerField(allow_blank=True)


def test_the_serializer_field_applies_the_same_rule_and_names_the_field():
    serializer = _PhoneSerializer(data={"phone": "555-12"})
    assert not serializer.is_valid()
    assert serializer.errors["phone"] == ["Enter a phone number such as (617) 555-0123."]
    serializer = _PhoneSerializer(data={"phone": 6175550123})
    assert not serializer.is_valid()
    assert serializer.errors["phone"] == ["Must be a string."]
    serializer = _PhoneSerializer(data={"phone": "07911 123456"}, context={"phone_region": "GB"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["phone"] == "+447911123456"


# --- "the same phone number": one key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("617-555-0123 ext. 12", "US"),  # an extension reaches a desk on the same line
        ("+1 617 555 0123", "US"),
        ("(617) 555-0123", "US"),
        ("6175550123", "US"),  # a US number without the leading 1 …
        ("16175550123", "US"),  # … and with it
        ("1 (617) 555-0123", "US"),
        ("1-617-555-0123 x4", "US"),
        ("+16175550123", "US"),  # stored
        ("+16175550123;ext=12", "US"),  # stored, with its extension
        ("+16175550123;ext=12", "GB"),  # a stored number means the same in every country
        ("+1 617 555 0123", "GB"),
        ("00 1 617 555 0123", "GB"),  # dialled from the UK
    ],
)
def test_every_form_of_one_us_number_has_the_same_key(value, region):
    assert phone_key(value, region) == "+16175550123"


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("020 7946 0958", "GB"),  # a London spa types it nationally
        ("+44 20 7946 0958", "US"),  # a Boston spa types it with its country code
        ("+44 (0)20 7946 0958", "US"),
        ("+442079460958;ext=5", "CA"),
        ("011 44 20 7946 0958", "US"),  # dialled from the US
    ],
)
def test_a_uk_number_has_the_same_key_typed_at_home_or_abroad(value, region):
    assert phone_key(value, region) == "+442079460958"


def test_different_numbers_have_different_keys():
    assert phone_key("617-555-0124", "US") != phone_key("617-555-0123", "US")
    # A UK national number typed at a US spa names no US number: it is not taken for the London one.
    assert phone_key("020 7946 0958", "US") != phone_key("020 7946 0958", "GB")


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("555-0100", "5550100"),  # typed before validation: its digits, never equal to a valid number's key
        ("555 0100 x5", "5550100"),
        ("617-555-0123 (cell)", "6175550123"),
        ("call me", ""),  # too few digits to be anyone's number: matches nothing
        ("12", ""),
        ("617-CALL-NOW", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_a_value_that_names_no_valid_number_keys_on_its_digits(value, key):
    assert phone_key(value, "US") == key
    assert not phone_key(value, "US").startswith("+")


def test_an_old_value_is_found_by_the_same_digits_typed_another_way():
    assert phone_key("555-0100", "US") == phone_key("555.0100", "US") == phone_key("(555) 0100", "US")
    assert phone_key("555-0100", "US") != phone_key("+1 617 555 0100", "US")
