"""The platform models (audit events, the outbox, generated documents) move here from spas (issue 16).

Only Django's idea of where they live changes: the tables keep their names (``db_table``) and their rows,
and no statement touches them. Their content types follow them, so admin history and permissions stay attached.
"""

import django.db.models.deletion
import django.utils.timezone
import infra.models
import uuid
from django.conf import settings
from django.db import migrations, models


MOVED = ["auditevent", "outgoingemail", "generateddocument"]


def _relabel(apps, old_label, new_label):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        # A fresh database has no content types yet (they are created after migrate): nothing to move.
        if not ContentType.objects.filter(app_label=new_label, model=model).exists():
            ContentType.objects.filter(app_label=old_label, model=model).update(app_label=new_label)


def content_types_follow(apps, schema_editor):
    _relabel(apps, "spas", "infra")


def content_types_go_back(apps, schema_editor):
    _relabel(apps, "infra", "spas")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('spas', '0007_outgoing_email_context'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='AuditEvent',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('actor_label', models.CharField(blank=True, help_text='Who acted when it was not a user (API key, patient, system).', max_length=255)),
                    ('action', models.CharField(max_length=64)),
                    ('object_type', models.CharField(blank=True, max_length=64)),
                    ('object_id', models.CharField(blank=True, max_length=64)),
                    ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                    ('detail', models.JSONField(blank=True, default=dict)),
                    ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                    ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('spa', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='audit_events', to='spas.spa')),
                ],
                options={
                    'db_table': 'spas_auditevent',
                    'ordering': ['-created_at', '-id'],
                    'indexes': [models.Index(fields=['spa', 'object_type', 'object_id'], name='audit_object_idx')],
                },
            ),
            migrations.CreateModel(
                name='GeneratedDocument',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                    ('kind', models.CharField(max_length=40)),
                    ('title', models.CharField(max_length=200)),
                    ('source_type', models.CharField(max_length=60)),
                    ('source_id', models.CharField(max_length=64)),
                    ('source_version', models.CharField(max_length=64)),
                    ('options', models.JSONField(blank=True, default=dict)),
                    ('options_key', models.CharField(max_length=64)),
                    ('subject_id', models.CharField(blank=True, max_length=64)),
                    ('subject_label', models.CharField(blank=True, max_length=200)),
                    ('status', models.CharField(choices=[('queued', 'Queued'), ('rendering', 'Rendering'), ('ready', 'Ready'), ('failed', 'Failed')], default='queued', max_length=10)),
                    ('failure_reason', models.TextField(blank=True)),
                    ('file', models.FileField(blank=True, upload_to=infra.models.document_upload_to)),
                    ('thumbnail', models.FileField(blank=True, upload_to=infra.models.thumbnail_upload_to)),
                    ('page_count', models.PositiveIntegerField(blank=True, null=True)),
                    ('checksum', models.CharField(blank=True, max_length=64)),
                    ('progress_done', models.PositiveIntegerField(default=0)),
                    ('progress_total', models.PositiveIntegerField(default=0)),
                    ('requested_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('started_at', models.DateTimeField(blank=True, null=True)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('batch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='parts', to='infra.generateddocument')),
                    ('requested_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('spa', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='spas.spa')),
                ],
                options={
                    'db_table': 'spas_generateddocument',
                    'ordering': ['-requested_at', '-id'],
                    'indexes': [models.Index(fields=['spa', 'source_type', 'source_id'], name='document_source_idx'), models.Index(fields=['spa', 'subject_id'], name='document_subject_idx')],
                    'constraints': [models.UniqueConstraint(condition=models.Q(('batch__isnull', True)), fields=('spa', 'kind', 'source_type', 'source_id', 'source_version', 'options_key'), name='document_unique_per_source_version')],
                },
            ),
            migrations.CreateModel(
                name='OutgoingEmail',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('to', models.EmailField(max_length=254)),
                    ('subject', models.CharField(blank=True, max_length=255)),
                    ('body_text', models.TextField(blank=True)),
                    ('body_html', models.TextField(blank=True)),
                    ('template', models.CharField(blank=True, max_length=100)),
                    ('context', models.JSONField(blank=True, default=dict)),
                    ('language', models.CharField(blank=True, max_length=15)),
                    ('time_zone', models.CharField(blank=True, max_length=64)),
                    ('rendered_at', models.DateTimeField(blank=True, null=True)),
                    ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=10)),
                    ('attempts', models.PositiveSmallIntegerField(default=0)),
                    ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('locked_until', models.DateTimeField(blank=True, null=True)),
                    ('last_error', models.TextField(blank=True)),
                    ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('sent_at', models.DateTimeField(blank=True, null=True)),
                    ('spa', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='outgoing_emails', to='spas.spa')),
                ],
                options={
                    'db_table': 'spas_outgoingemail',
                    'ordering': ['-created_at', '-id'],
                    'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='outbox_due_idx')],
                },
            ),
            ],
            database_operations=[
                migrations.RunPython(content_types_follow, content_types_go_back),
            ],
        ),
    ]
