# Convenience targets; each is one script that can be run without make.
IMAGE ?= localhost/tributary:dev

.PHONY: image container-test
image: ## build the container image (podman or docker; nothing is pulled)
	scripts/image $(IMAGE)

container-test: ## build the image and run it against a throwaway PostgreSQL (root; installs podman)
	.ci/container
