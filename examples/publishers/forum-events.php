<?php
// Publishes to evcomet from a PHP forum with php-amqp (Debian: php-amqp).
// Copy the two functions into the forum, and call, after a new thread is saved:
//
//   evcomet_publish_forum_event([
//       'type' => 'thread.created', 'who' => $username, 'what' => $title,
//       'where' => $forum_name, 'url' => $thread_url,
//   ]);
//
// The message format is in docs/bus.md, the event types in docs/forum-events.md.
// From a shell: php forum-events.php '{"type":"user.registered","who":"alice"}'
// (AMQP_URL and AMQP_FORUM_EXCHANGE are read from the environment).

/** An evcomet message id: `<ms>-<seq><origin>` in base 36 (server/message-id.ts). */
function evcomet_message_id(int $ms): string
{
    // A random seq keeps two PHP requests in the same millisecond apart.
    return base_convert((string) $ms, 10, 36) . '-' . base_convert((string) random_int(0, 36 ** 4 - 1), 10, 36) . 'php';
}

/**
 * Publishes $data on $channel through the fanout exchange $exchange, waits for
 * RabbitMQ's confirm, and returns the message's id. Throws on any failure, so
 * the caller can retry or log.
 */
function evcomet_publish(string $exchange, string $channel, $data, string $amqp_url = 'amqp://guest:guest@127.0.0.1:5672'): string
{
    $url = parse_url($amqp_url);
    $connection = new AMQPConnection([
        'host' => $url['host'] ?? '127.0.0.1',
        'port' => $url['port'] ?? 5672,
        'login' => isset($url['user']) ? urldecode($url['user']) : 'guest',
        'password' => isset($url['pass']) ? urldecode($url['pass']) : 'guest',
        'vhost' => isset($url['path']) && $url['path'] !== '/' ? urldecode(substr($url['path'], 1)) : '/',
        'connect_timeout' => 5,
    ]);
    $connection->connect();
    try {
        $amqp = new AMQPChannel($connection);
        $amqp->confirmSelect();
        $fanout = new AMQPExchange($amqp);
        $fanout->setName($exchange);
        $fanout->setType(AMQP_EX_TYPE_FANOUT);
        $fanout->setFlags(AMQP_DURABLE);
        $fanout->declareExchange();

        $ms = (int) floor(microtime(true) * 1000);
        $id = evcomet_message_id($ms);
        $body = json_encode(
            ['id' => $id, 'channel' => $channel, 'time' => $ms, 'data' => $data],
            JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR
        );
        $fanout->publish($body, '', AMQP_NOPARAM, [
            'content_type' => 'application/json',
            'delivery_mode' => 2, // persistent
            'message_id' => $id,
        ]);
        $nacked = false;
        $amqp->setConfirmCallback(
            function () { return false; }, // acked: stop waiting
            function () use (&$nacked) { $nacked = true; return false; }
        );
        $amqp->waitForConfirm(5.0); // throws AMQPQueueException on a timeout
        if ($nacked) {
            throw new RuntimeException('RabbitMQ refused the message');
        }
        return $id;
    } finally {
        $connection->disconnect();
    }
}

/** Publishes a forum event ({ type, who, what, where, url }) to the forum.events exchange. */
function evcomet_publish_forum_event(array $event, string $exchange = 'forum.events', string $amqp_url = 'amqp://guest:guest@127.0.0.1:5672'): string
{
    return evcomet_publish($exchange, 'forum', $event, $amqp_url);
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    if ($argc !== 2) {
        fwrite(STDERR, "usage: php forum-events.php '<event json>'\n");
        exit(2);
    }
    $event = json_decode($argv[1], true, 512, JSON_THROW_ON_ERROR);
    echo evcomet_publish_forum_event(
        $event,
        getenv('AMQP_FORUM_EXCHANGE') ?: 'forum.events',
        getenv('AMQP_URL') ?: 'amqp://guest:guest@127.0.0.1:5672'
    ), "\n";
}
