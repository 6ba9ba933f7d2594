"""manage.py inbound_email_load: a saved .eml or an mbox becomes drafts through the same service as the webhook."""

import mailbox

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from referrals.models import InboundDraftAttachment, InboundReferralDraft, Referral

from .inbound_helpers import NOTHING, inbound_rows, pdf_attachment, referral_email, stored_inbound_files
from .spa_helpers import audit_actions, count, rows


def _load(path, *args):
    from io import StringIO

    out = StringIO()
    call_command("inbound_email_load", str(path), *args, stdout=out)
    return out.getvalue().splitlines()


def test_an_eml_file_becomes_a_draft_with_its_pdf_once(inbound, spa, tmp_path):
    path = tmp_path / "referral.eml"
    path.write_bytes(bytes(referral_email(spa, attachments=[pdf_attachment()])))

    first = _load(path)
    second = _load(path)

    draft = rows(InboundReferralDraft, spa=spa)[0]
    assert first == [
        f"Message 1 from frontdesk@brookline-derm.example: draft created in {spa.slug} ({draft.public_id}).",
        "1 created, 0 already there, 0 skipped.",
    ]
    assert second[-1] == "0 created, 1 already there, 0 skipped."
    assert [a.name for a in rows(InboundDraftAttachment, draft=draft)] == ["Referral form.pdf"]
    assert len(stored_inbound_files()) == 1
    assert count(Referral, spa=spa) == 0
    assert audit_actions(spa) == ["inbound_draft.received"]
    assert inbound_rows()["signatures"] == 0  # nothing was signed: no signature to remember


def test_an_mbox_is_read_message_by_message_and_bad_ones_are_skipped(inbound, spa, other_spa, tmp_path):
    path = tmp_path / "referrals.mbox"
    box = mailbox.mbox(str(path))
    box.add(bytes(referral_email(spa, subject="First")))
    box.add(bytes(referral_email(other_spa, subject="Second")))
    box.add(b"From: nobody@example.com\nTo: someone@elsewhere.example\nSubject: not for us\n\nhello\n")
    box.add(b"Subject: no sender\nTo: " + f"{spa.slug}@in.spa-referrals.example".encode() + b"\n\nhello\n")
    box.flush()
    box.close()

    lines = _load(path)

    assert lines[-1] == "2 created, 0 already there, 2 skipped."
    assert "Message 3: skipped, no spa's referral address among its recipients." in lines
    assert "Message 4: skipped, malformed (The message has no sender address.)" in lines
    assert [d.subject for d in rows(InboundReferralDraft, spa=spa)] == ["First"]
    assert [d.subject for d in rows(InboundReferralDraft, spa=other_spa)] == ["Second"]


def test_spa_sends_every_message_to_that_spa(spa, tmp_path):
    # No INBOUND_DOMAIN on this server: the recipients name no spa, --spa does.
    path = tmp_path / "referral.eml"
    path.write_bytes(bytes(referral_email(spa, to="intake@serene.example")))

    assert _load(path)[-1] == "0 created, 0 already there, 1 skipped."
    assert "INBOUND_DOMAIN is not set: name the spa with --spa" in _load(path)[0]
    assert _load(path, "--spa", spa.slug)[-1] == "1 created, 0 already there, 0 skipped."
    assert count(InboundReferralDraft, spa=spa) == 1


def test_an_oversized_message_is_skipped(inbound, spa, tmp_path, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 500
    path = tmp_path / "big.eml"
    path.write_bytes(bytes(referral_email(spa, attachments=[pdf_attachment()])))

    assert _load(path)[0] == "Message 1: skipped, larger than 500 bytes."
    assert inbound_rows() == NOTHING


def test_a_missing_file_or_spa_is_an_error(spa, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        _load(tmp_path / "nothing.eml")
    path = tmp_path / "referral.eml"
    path.write_bytes(bytes(referral_email(spa)))
    with pytest.raises(CommandError, match="No spa with the slug"):
        _load(path, "--spa", "no-such-spa")
