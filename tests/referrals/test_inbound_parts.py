"""The pieces of referrals by email and text on their own: the signature schemes (Twilio's against its published
examples), reading messages, and the patient details taken only where a message labels them."""

import pytest

from referrals.inbound.guesses import patient_guesses
from referrals.inbound.mime import MalformedMessage, attachment_name, email_from_bytes, html_to_text, mime_from_request
from referrals.inbound.signatures import (
    SignatureRefused,
    email_signature,
    email_signature_check,
    twilio_signature,
    twilio_signature_valid,
)

# Twilio's own examples (twilio-python, tests/unit/test_request_validator.py).
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_twilios_signature_matches_its_published_examples():
    assert twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234"]}
    assert twilio_signature("12345", TWILIO_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        (TWILIO_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (TWILIO_URL.replace(".com", ".com:1234"), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),  # a port the proxy added
        (TWILIO_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443
        (TWILIO_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # signed with :80
    ],
)
def test_twilios_signature_is_checked_with_and_without_a_port(url, signature):
    assert twilio_signature_valid(auth_token="12345", urls=[url], params=TWILIO_PARAMS, signature=signature)


def test_a_wrong_twilio_signature_token_or_parameter_fails():
    good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert not twilio_signature_valid(auth_token="54321", urls=[TWILIO_URL], params=TWILIO_PARAMS, signature=good)
    changed = {**TWILIO_PARAMS, "Digits": "9999"}
    assert not twilio_signature_valid(auth_token="12345", urls=[TWILIO_URL], params=changed, signature=good)
    assert not twilio_signature_valid(auth_token="12345", urls=[TWILIO_URL], params=TWILIO_PARAMS, signature="")


def test_the_email_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    body = b"From: a@b.example\r\n\r\nhi"
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()

    assert email_signature("s3cret", "1700000000", body) == f"sha256={expected}"
    digest = email_signature_check(
        secret="s3cret", timestamp="1700000000", signature=f"sha256={expected}", body=body, now=1700000299
    )
    assert len(digest) == 64


@pytest.mark.parametrize(
    ("timestamp", "signature", "now", "reason"),
    [
        ("", "sha256=00", 1700000000, "missing"),
        ("1700000000", "", 1700000000, "missing"),
        ("17e8", "sha256=00", 1700000000, "missing"),
        ("1700000000", "md5=00", 1700000000, "missing"),
        ("1700000000", "sha256=00", 1700000301, "stale"),
        ("1700000000", "sha256=00", 1699999699, "stale"),
        ("1700000000", "sha256=00", 1700000000, "mismatch"),
    ],
)
def test_email_signatures_are_refused_with_a_reason(timestamp, signature, now, reason):
    with pytest.raises(SignatureRefused) as refused:
        email_signature_check(secret="s3cret", timestamp=timestamp, signature=signature, body=b"x", now=now)

    assert refused.value.reason == reason


# --- reading messages -------------------------------------------------------------------------------------------


def _raw(headers, body="Hello", content_type="text/plain; charset=utf-8"):
    lines = [*headers, f"Content-Type: {content_type}", "MIME-Version: 1.0", "", body]
    return "\r\n".join(lines).encode()


def test_a_message_gives_its_sender_recipients_subject_and_id():
    raw = _raw(
        [
            '"Dr. Asha Patel" <Asha.Patel@Clinic.example>',
            "To: Serene <serene@in.example>",
            "Cc: other@clinic.example",
            "Delivered-To: serene+fax@in.example",
            "Subject: =?utf-8?q?R=C3=A9f=C3=A9rence?=\r\n for Jane",
            "Message-ID: <abc@clinic.example>",
        ]
    ).replace(b'"Dr. Asha', b'From: "Dr. Asha')

    message = email_from_bytes(raw, envelope_recipients=["bcc@in.example"])

    assert (message.sender, message.sender_name) == ("asha.patel@clinic.example", "Dr. Asha Patel")
    assert message.recipients == [
        "bcc@in.example",
        "serene+fax@in.example",
        "serene@in.example",
        "other@clinic.example",
    ]
    assert message.subject == "Référence for Jane"
    assert message.message_id == "<abc@clinic.example>"


def test_an_unknown_charset_is_read_as_utf8_rather_than_refused():
    raw = _raw(
        ["From: a@b.example"],
        body="Caf\xe9".encode("latin-1").decode("latin-1"),
        content_type="text/plain; charset=x-nonsense",
    )

    assert email_from_bytes(raw).body.startswith("Caf")


def test_control_characters_and_long_runs_of_blank_lines_are_cleaned():
    raw = _raw(["From: a@b.example", "Subject: A\x07B"], body="one\x00\r\n\r\n\r\n\r\ntwo\x1b[31m")

    message = email_from_bytes(raw)

    assert message.body == "one\n\ntwo[31m"
    assert message.subject == "A B"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"just some words",
        b"To: a@b.example\r\n\r\nno sender",
        b"From: not an address\r\n\r\nbody",
        b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="Q"\r\n\r\nno parts\r\n',
        b'From: a@b.example\r\nContent-Type: multipart/mixed; boundary="Q"\r\n\r\n--Q\r\n'
        b"Content-Type: text/plain\r\n\r\ncut",
    ],
)
def test_broken_messages_are_refused_as_malformed(raw):
    with pytest.raises(MalformedMessage):
        email_from_bytes(raw)


def test_html_becomes_words_without_markup_scripts_or_styles():
    text = html_to_text(
        "<style>.x{}</style><div>Line one<br>Line&nbsp;two</div><script>evil()</script><ul><li>a</li><li>b</li></ul>"
    )

    assert "evil" not in text and ".x" not in text
    assert [line for line in text.split("\n") if line] == ["Line one", "Line\xa0two", "a", "b"]


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("../../etc/passwd.pdf", "application/pdf", "passwd.pdf"),
        ("C:\\scans\\form.PDF", "application/pdf", "form.PDF"),
        ("", "image/jpeg", "attachment-3.jpg"),
        ("no-extension", "application/pdf", "no-extension.pdf"),
        ("x" * 200 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
        ("evil\r\nname.png", "image/png", "evil name.png"),
    ],
)
def test_attachment_names_lose_folders_and_control_characters(filename, content_type, expected):
    assert attachment_name(filename, content_type, 3) == expected


def test_a_form_body_gives_the_raw_message_and_the_envelope():
    body = (
        b'--B\r\nContent-Disposition: form-data; name="envelope"\r\n\r\n{"to": ["Serene@In.example"]}\r\n'
        b'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\nFrom: a@b.example\r\n\r\nhi\r\n--B--\r\n'
    )

    raw, envelope = mime_from_request("multipart/form-data; boundary=B", body)

    assert raw.startswith(b"From: a@b.example")
    assert envelope == ["serene@in.example"]


# --- the patient's details ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Patient: Jane Doe\nPhone: (617) 555-0142\nEmail: jane.doe@example.com",
            {
                "patient_first_name": "Jane",
                "patient_last_name": "Doe",
                "patient_phone": "+16175550142",
                "patient_email": "jane.doe@example.com",
            },
        ),
        ("Patient name: Doe, Jane", {"patient_first_name": "Jane", "patient_last_name": "Doe"}),
        ("> Pt name - María José van der Berg", {}),  # five words: a person decides
        ("Name: Anne-Marie O'Neil", {"patient_first_name": "Anne-Marie", "patient_last_name": "O'Neil"}),
        ("Patient's mobile number: 617.555.0142", {"patient_phone": "+16175550142"}),
        ("Please see Jane Doe, 617-555-0142, for a facial.", {}),  # unlabelled: not guessed
        ("Patient: Jane Doe\nPatient: John Roe", {}),  # two patients: not guessed
        ("Patient: Jane Doe\nPatient: Jane Doe", {"patient_first_name": "Jane", "patient_last_name": "Doe"}),
        ("Patient: 12345", {}),
        ("Phone: call me", {}),
        ("Email: not-an-address", {}),
    ],
)
def test_only_clearly_labelled_details_are_taken(text, expected):
    assert patient_guesses(text, region="US") == expected


def test_the_senders_own_number_and_address_are_not_the_patients():
    text = "Phone: +1 617 555 0142\nEmail: FrontDesk@clinic.example"

    assert patient_guesses(text, region="US", sender="frontdesk@clinic.example") == {"patient_phone": "+16175550142"}
    assert patient_guesses(text, region="US", sender="+16175550142") == {"patient_email": "frontdesk@clinic.example"}


def test_a_number_is_read_in_the_spas_country():
    assert patient_guesses("Tel: 020 7946 0958", region="GB") == {"patient_phone": "+442079460958"}
