"""The "Referral pad" request: a small form on the practice's page that queues the PDF and goes to Documents.

Mounted under the workspace, so the tenancy middleware has already checked the membership; any member
(staff included) may print pads. GET shows the form on its own page; POST queues the pad.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from partners.models import Practice

from .forms import PadPracticeChoiceForm, ReferralPadForm
from .services import referral_pad_request


def _practice_or_404(request, practice_id):
    practice = Practice.objects.filter(spa=request.spa, public_id=practice_id).first()
    if practice is None:
        raise Http404("No such practice.")
    return practice


def pad_request(request, spa_slug, practice_id):
    practice = _practice_or_404(request, practice_id)
    if request.method != "POST":
        return render(request, "pads/request.html", {"practice": practice, "form": ReferralPadForm(practice=practice)})
    form = ReferralPadForm(request.POST, practice=practice)
    if not form.is_valid():
        return render(request, "pads/request.html", {"practice": practice, "form": form}, status=400)
    document = referral_pad_request(
        spa=request.spa,
        practice=practice,
        clinician=form.cleaned_data["clinician"],
        paper=form.cleaned_data["paper"],
        pages=form.cleaned_data["pages"],
        requested_by=request.user,
    )
    messages.success(
        request, _("“%(title)s” is being made. It will appear here when it is ready.") % {"title": document.title}
    )
    return redirect("documents:list", spa_slug=spa_slug)


def pad_choose_practice(request, spa_slug):
    """From the documents page: choose the practice, then its pad form (a pad always belongs to a practice)."""
    form = PadPracticeChoiceForm(request.GET or None, spa=request.spa)
    if form.is_bound and form.is_valid():
        return redirect("pads:request", spa_slug=spa_slug, practice_id=form.cleaned_data["practice"].public_id)
    return render(request, "pads/choose.html", {"form": form}, status=400 if form.errors else 200)
