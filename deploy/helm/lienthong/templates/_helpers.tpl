{{/* Common names and labels. */}}
{{- define "lienthong.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lienthong.labels" -}}
app.kubernetes.io/name: lienthong
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "lienthong.selector" -}}
app.kubernetes.io/name: lienthong
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "lienthong.image" -}}
{{- $v := .root.Values.image -}}
{{- printf "%s/%s-%s:%s" $v.registry $v.prefix .service (default .root.Chart.AppVersion $v.tag) -}}
{{- end -}}

{{/* Kafka connection and security variables (services and the topics Job). */}}
{{- define "lienthong.kafkaEnv" -}}
{{- $k := .Values.kafka -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ $k.bootstrapServers | quote }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ $k.topicPrefix | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $k.security.protocol | quote }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $k.security.saslMechanism | quote }}
- name: KAFKA_SSL_CHECK_HOSTNAME
  value: {{ $k.security.checkHostname | quote }}
{{- if $k.security.caSecret }}
- name: KAFKA_SSL_CAFILE
  value: /etc/lienthong/kafka-ca/{{ $k.security.caKey }}
{{- end }}
- name: KAFKA_TOPIC_PARTITIONS
  value: {{ $k.topics.partitions | quote }}
- name: KAFKA_TOPIC_REPLICATION_FACTOR
  value: {{ $k.topics.replicationFactor | quote }}
- name: KAFKA_TOPIC_RETENTION_MS
  value: {{ $k.topics.retentionMs | int64 | quote }}
- name: KAFKA_DLQ_RETENTION_MS
  value: {{ $k.topics.dlqRetentionMs | int64 | quote }}
{{- end -}}

{{- define "lienthong.checkTopics" -}}
{{- $t := .Values.kafka.topics -}}
{{- if lt (int $t.replicationFactor) 3 -}}
{{- fail (printf "kafka.topics.replicationFactor must be at least 3 (got %v): one broker lost must lose no event" $t.replicationFactor) -}}
{{- end -}}
{{- if and (ge (int64 $t.dlqRetentionMs) 0) (lt (int64 $t.dlqRetentionMs) (int64 $t.retentionMs)) -}}
{{- fail "kafka.topics.dlqRetentionMs must not be shorter than retentionMs: dead letters must outlive the events" -}}
{{- end -}}
{{- if and (ne $.Values.kafka.security.protocol "PLAINTEXT") (ne $.Values.kafka.security.protocol "SSL") (not $t.adminSecret) -}}
{{- fail "kafka.topics.adminSecret is needed for SASL (the topics Job's own credentials)" -}}
{{- end -}}
{{- end -}}
