// Package ext holds the (empty) extension points of Traefik's dynamic configuration.
package ext

// HTTP is embedded in Traefik's dynamic.HTTP; nothing extends it in this build.
type HTTP struct{}

// Router is embedded in Traefik's dynamic.Router; nothing extends it in this build.
type Router struct{}
