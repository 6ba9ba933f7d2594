"""Phone numbers as people read them.

    {% load phones %}
    {{ referral.patient_phone|phone:current_spa.country }}    (617) 555-0123 ext. 12   (+44 20 7946 0958 abroad)
    <a href="{{ referral.patient_phone|tel_href:current_spa.country }}">   tel:+1-617-555-0123;ext=12
    {{ practice.phone|phone_link:current_spa.country }}   <a href="tel:+1-617-555-0123">(617) 555-0123</a>
                                                          (plain text when there is nothing to dial)

Without an argument the region is US. Old values that are not valid numbers show as they were typed.
"""

from django import template
from django.utils.html import format_html

from infra import phones

register = template.Library()


@register.filter
def phone(value, region=phones.DEFAULT_REGION):
    return phones.format_phone(value, region)


@register.filter
def tel_href(value, region=phones.DEFAULT_REGION):
    return phones.tel_uri(value, region)


@register.filter
def phone_link(value, region=phones.DEFAULT_REGION):
    shown = phones.format_phone(value, region)
    href = phones.tel_uri(value, region)
    return format_html('<a href="{}">{}</a>', href, shown) if href else shown
