"""Public URLs: the patient landing page /r/<code> and portal invitation links."""

app_name = "public"

urlpatterns = []
