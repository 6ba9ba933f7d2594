"""Partner portal URLs, mounted under /portal/<spa_slug>/ (clinic staff of one practice)."""

app_name = "portal"

urlpatterns = []
