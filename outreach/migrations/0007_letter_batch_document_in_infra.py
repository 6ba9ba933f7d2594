"""A letter batch's document is an infra.GeneratedDocument now: the same table, so only the state changes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('infra', '0001_initial'),
        ('outreach', '0006_partner_health_snapshots'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='letterbatch',
                name='document',
                field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='infra.generateddocument'),
            ),
            ],
            database_operations=[],
        ),
    ]
