"""allauth adapter: account emails go through the outbox like every other email."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.urls import reverse

from infra.client_ip import client_ip
from infra.outbox import email_enqueue_rendered


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        # The same context allauth's own send_mail builds: its templates name the site and the address.
        request = allauth_context.request
        context = {"request": request, "email": email, "current_site": get_current_site(request), **context}
        message = self.render_mail(template_prefix, email, context)
        body_html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                body_html = content
        email_enqueue_rendered(
            to=email,
            subject=message.subject,
            body_text=message.body,
            body_html=body_html,
            template=template_prefix,
        )

    def get_client_ip(self, request):
        # Ours never raises on a short X-Forwarded-For (allauth's would answer 500).
        return client_ip(request) or "0.0.0.0"  # noqa: S104 - a placeholder key for rate limits, not a bind

    def get_login_redirect_url(self, request):
        return reverse("home")
