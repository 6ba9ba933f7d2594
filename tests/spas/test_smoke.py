from django.urls import reverse


def test_login_page_renders(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert b"Sign In" in response.content or b"Sign in" in response.content


def test_owner_sees_spa_home(owner_client, spa):
    response = owner_client.get(reverse("insights:dashboard", args=[spa.slug]))
    assert response.status_code == 200
    assert spa.name.encode() in response.content
