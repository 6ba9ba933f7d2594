from django.apps import AppConfig


class SpasConfig(AppConfig):
    name = "spas"
    verbose_name = "Spas"
