"""Day-to-day outreach URLs: My day, tasks, touchpoints, the playbook and outreach settings."""

urlpatterns = []
