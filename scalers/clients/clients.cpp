// The native client families: the one line each family whose implementation needs a client
// library adds (connection_pools.h). Linking this library is what lets a process poll.
#include "ebb/scalers/connection_pools.h"
#include "external/grpc_channels.h"
#include "kafka/kafka_client.h"
#include "mysql/mysql_client.h"
#include "postgresql/pg_client.h"
#include "rabbitmq/amqp_client.h"
#include "redis/pool.h"

namespace ebb::scalers {

ConnectionPools::ConnectionPools() {
  provide<external::Channels, external::GrpcChannels>();
  provide<kafka::Clients, kafka::KafkaPool>();
  provide<mysql::Clients, mysql::MysqlPool>();
  provide<postgresql::Clients, postgresql::PgPool>();
  provide<rabbitmq::AmqpConnections, rabbitmq::AmqpPool>();
  provide<redis::Client, redis::RedisPool>();
}

ConnectionPools::~ConnectionPools() = default;

}  // namespace ebb::scalers
