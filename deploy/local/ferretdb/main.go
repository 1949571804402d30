// Command ferretdb-local runs FerretDB 1.24 on its PostgreSQL handler for LienThong's local development
// and tests. It embeds github.com/FerretDB/FerretDB/ferretdb, so it needs no build/version/version.txt.
//
//	ferretdb --listen-addr=127.0.0.1:27017 --postgresql-url=postgres://user@127.0.0.1:5433/db [--log-level=error]
//
// Every flag can also come from the environment: FERRETDB_LISTEN_ADDR, FERRETDB_POSTGRESQL_URL,
// FERRETDB_LOG_LEVEL. The embedded server never starts telemetry nor a debug HTTP server;
// --telemetry=disable and --debug-addr=- are accepted for command-line compatibility with the
// upstream binary.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	listen := flag.String("listen-addr", env("FERRETDB_LISTEN_ADDR", "127.0.0.1:27017"), "TCP listen address")
	pgURL := flag.String("postgresql-url", env("FERRETDB_POSTGRESQL_URL", ""), "PostgreSQL connection URL")
	// FerretDB logs every error reply (duplicate key, unknown command...) at WARN with the whole
	// message, which floods the log under tests; ERROR keeps only real failures.
	level := flag.String("log-level", env("FERRETDB_LOG_LEVEL", "error"), "debug, info, warn or error")
	telemetry := flag.String("telemetry", "disable", "only 'disable' (the embedded server has no telemetry)")
	debugAddr := flag.String("debug-addr", "-", "only '-' (the embedded server has no debug handler)")
	flag.Parse()

	log.SetFlags(log.LstdFlags | log.LUTC)
	if *pgURL == "" {
		log.Fatal("--postgresql-url (or FERRETDB_POSTGRESQL_URL) is required")
	}
	if *telemetry != "disable" && *telemetry != "disabled" && *telemetry != "false" {
		log.Fatalf("--telemetry=%s is not supported: the embedded server never reports telemetry", *telemetry)
	}
	if *debugAddr != "-" && *debugAddr != "" {
		log.Fatalf("--debug-addr=%s is not supported: the embedded server has no debug handler", *debugAddr)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		log.Fatalf("--log-level: %v", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb v1.24.2 (embedded, postgresql) listening on %s", *listen)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log.Print("ferretdb stopped")
}
