"""allauth adapter: account emails go through the outbox like every other email."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from .outbox import email_enqueue_rendered


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
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

    def get_login_redirect_url(self, request):
        return reverse("home")
