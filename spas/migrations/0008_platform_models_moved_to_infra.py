"""Audit events, the outbox and generated documents now live in infra (infra/migrations/0001): spas forgets
them without dropping anything; the tables stay as they are.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0007_letter_batch_document_in_infra'),
        ('spas', '0007_outgoing_email_context'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveField(
                model_name='generateddocument',
                name='batch',
            ),
            migrations.RemoveField(
                model_name='generateddocument',
                name='requested_by',
            ),
            migrations.RemoveField(
                model_name='generateddocument',
                name='spa',
            ),
            migrations.RemoveField(
                model_name='outgoingemail',
                name='spa',
            ),
            migrations.DeleteModel(
                name='AuditEvent',
            ),
            migrations.DeleteModel(
                name='GeneratedDocument',
            ),
            migrations.DeleteModel(
                name='OutgoingEmail',
            ),
            ],
            database_operations=[],
        ),
    ]
