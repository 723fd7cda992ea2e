"""The deployment files: Dockerfile, docker-compose.yml, the proxy."""
