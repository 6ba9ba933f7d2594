"""The patient's pages behind the follow-up email's signed links (no sign-in), and the staff's cancel button."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_scopes import scope

from infra.forms import apply_validation_error

from ..views import referral_or_404
from .forms import SatisfactionForm
from .links import FEEDBACK, STOP, LinkExpired, LinkInvalid
from .selectors import follow_up_by_link, follow_up_for
from .services import (
    follow_up_cancel,
    follow_up_opt_out,
    satisfaction_submit,
    testimonial_withdraw,
    testimonial_wording,
)

LINK_PAGE = "followup/link_problem.html"


def _follow_up_or_problem(request, token, purpose):
    """(follow-up, None) for a good link; (None, the friendly page to answer with) for an expired or bad one."""
    try:
        follow_up = follow_up_by_link(token, purpose)
    except LinkExpired:
        return None, render(request, LINK_PAGE, {"problem": "expired"}, status=410)
    except LinkInvalid:
        follow_up = None
    if follow_up is None:
        return None, render(request, LINK_PAGE, {"problem": "invalid"}, status=404)
    return follow_up, None


def _feedback_page(request, follow_up, form=None, *, status=200, just_answered=False):
    context = {
        "spa": follow_up.spa,
        "follow_up": follow_up,
        # A missing one-to-one row raises a subclass of AttributeError: getattr's default answers None.
        "answer": getattr(follow_up, "satisfaction", None),
        "testimonial": getattr(follow_up, "testimonial", None),
        "form": form,
        "just_answered": just_answered,
    }
    return render(request, "followup/feedback.html", context, status=status)


@require_http_methods(["GET", "POST"])
def follow_up_feedback(request, token):
    """The satisfaction question (once) with the separate testimonial opt-in; afterwards, the answer given."""
    follow_up, problem = _follow_up_or_problem(request, token, FEEDBACK)
    if problem:
        return problem
    with scope(spa=follow_up.spa):
        wording = testimonial_wording(follow_up.spa)
        answered = hasattr(follow_up, "satisfaction")
        if request.method == "GET" or answered or follow_up.state != follow_up.State.SENT:
            form = None if answered else SatisfactionForm(testimonial_wording=wording)
            return _feedback_page(request, follow_up, form)
        form = SatisfactionForm(request.POST, testimonial_wording=wording)
        if form.is_valid():
            try:
                satisfaction_submit(
                    follow_up=follow_up,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    share_testimonial=form.cleaned_data["share_testimonial"],
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                return _feedback_page(request, follow_up_for(follow_up.referral), just_answered=True)
        return _feedback_page(request, follow_up, form, status=400)


@require_POST
def follow_up_testimonial_withdraw(request, token):
    """The patient takes back the testimonial permission from the feedback page."""
    follow_up, problem = _follow_up_or_problem(request, token, FEEDBACK)
    if problem:
        return problem
    with scope(spa=follow_up.spa):
        testimonial_withdraw(follow_up=follow_up)
        return _feedback_page(request, follow_up_for(follow_up.referral))


@require_http_methods(["GET", "POST"])
def follow_up_stop(request, token):
    """The opt-out link: a page with one button (a mail scanner's GET changes nothing), and the stop itself."""
    follow_up, problem = _follow_up_or_problem(request, token, STOP)
    if problem:
        return problem
    with scope(spa=follow_up.spa):
        if request.method == "POST":
            follow_up = follow_up_opt_out(follow_up=follow_up)
        stopped = follow_up.reason == follow_up.Reason.OPT_OUT
        return render(request, "followup/stop.html", {"spa": follow_up.spa, "stopped": stopped})


@require_POST
def follow_up_cancel_view(request, spa_slug, referral_id):
    """Staff stop a referral's scheduled thank-you from the referral's page."""
    referral = referral_or_404(request, referral_id)
    follow_up = follow_up_for(referral)
    if follow_up is None:
        raise Http404("No follow-up.")
    try:
        follow_up_cancel(follow_up=follow_up, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The patient's follow-up was cancelled; nothing will be sent."))
    return redirect("referrals:detail", spa_slug=spa_slug, referral_id=referral.public_id)
