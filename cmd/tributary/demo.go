package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start throwaway PostgreSQL and MariaDB, capture changes and print the events",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("demo: the source connectors are not wired in yet")
		},
	}
}
